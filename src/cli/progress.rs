//! Progress bars on stderr for long work. They draw only on a terminal, so
//! piped output and test logs stay clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` items, labelled `what`.
pub fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let style =
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// A spinner for one long step at a time (Yosys, nextpnr): the caller sets
/// the stage as its message; the elapsed time shows it is still working.
pub fn spinner() -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    spinner.set_style(style);
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    spinner
}
