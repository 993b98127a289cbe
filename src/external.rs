//! Running the external hardware tools (Icarus, Verilator, Yosys):
//! combined output on success, the output in the error on failure, and an
//! install hint when a tool is missing.

use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot run {tool}: {source}; install it (scripts/install-deps.sh installs iverilog, verilator, yosys and nextpnr-ice40)")]
    Missing {
        tool: String,
        source: std::io::Error,
    },
    #[error("{tool} failed:\n{output}")]
    Failed { tool: String, output: String },
}

/// Run `cmd`; its stdout and stderr together.
pub fn run(cmd: &mut Command) -> Result<String, ToolError> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|source| ToolError::Missing {
        tool: tool.clone(),
        source,
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(ToolError::Failed { tool, output: text })
    }
}
