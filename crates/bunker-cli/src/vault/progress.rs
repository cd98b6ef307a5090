//! Showing a running vault operation: indicatif bars on a terminal, restic-style JSON status
//! lines for machines (`backup --json`), or nothing. The library reports through its
//! [`Progress`] trait from worker threads, so everything here is behind a lock or atomic.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bunker_vault::{Phase, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

/// How often a JSON status line is printed at most; restic prints a few per second too.
const JSON_INTERVAL: Duration = Duration::from_millis(500);

/// The display chosen for one command.
pub enum Reporter {
    /// stderr is not a terminal and no JSON was asked for.
    Hidden,
    /// A bar (or a spinner when the size is unknown) per phase, on stderr.
    Bars(Mutex<Option<ProgressBar>>),
    /// Status lines on stdout.
    Json(Mutex<JsonState>),
}

/// Counters behind the JSON status lines.
pub struct JsonState {
    started: Instant,
    last: Option<Instant>,
    total: Option<u64>,
    bytes: u64,
    files: u64,
    current: Option<String>,
}

impl Reporter {
    /// Bars when stderr is a terminal, nothing otherwise (pipes and logs stay clean).
    pub fn for_terminal() -> Self {
        if std::io::stderr().is_terminal() { Self::Bars(Mutex::new(None)) } else { Self::Hidden }
    }

    /// JSON status lines on stdout.
    pub fn json() -> Self {
        Self::Json(Mutex::new(JsonState {
            started: Instant::now(),
            last: None,
            total: None,
            bytes: 0,
            files: 0,
            current: None,
        }))
    }
}

fn label(phase: Phase) -> &'static str {
    match phase {
        Phase::Backup => "backup",
        Phase::Restore => "restore",
        Phase::CheckStructure => "check structure",
        Phase::CheckData => "read data",
    }
}

fn new_bar(phase: Phase, total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {wide_msg}",
        ),
        None => (ProgressBar::new_spinner(), "{prefix:>12} {spinner} {bytes} {bytes_per_sec} {elapsed} {wide_msg}"),
    };
    let style = ProgressStyle::with_template(template).expect("templates are valid").progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label(phase));
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

impl JsonState {
    fn line(&self) -> Value {
        let mut v = json!({
            "message_type": "status",
            "seconds_elapsed": self.started.elapsed().as_secs_f64(),
            "bytes_done": self.bytes,
            "files_read": self.files,
        });
        if let Some(total) = self.total {
            v["total_bytes"] = json!(total);
            #[allow(clippy::cast_precision_loss)] // a display ratio
            let done = if total == 0 { 1.0 } else { (self.bytes as f64 / total as f64).min(1.0) };
            v["percent_done"] = json!(done);
        }
        if let Some(current) = &self.current {
            v["current_files"] = json!([current]);
        }
        v
    }

    fn emit(&mut self) {
        self.last = Some(Instant::now());
        print_line(&self.line());
    }

    fn emit_if_due(&mut self) {
        if self.last.is_none_or(|t| t.elapsed() >= JSON_INTERVAL) {
            self.emit();
        }
    }
}

/// One JSON object on its own stdout line, flushed so a reader sees it at once.
pub fn print_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (`| head`) must not abort the backup; the summary line reports it.
    let _ = writeln!(out, "{value}").and_then(|()| out.flush());
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Progress for Reporter {
    fn start(&self, phase: Phase, total: Option<u64>) {
        match self {
            Self::Hidden => {}
            Self::Bars(bar) => {
                if let Some(old) = locked(bar).replace(new_bar(phase, total)) {
                    old.finish_and_clear();
                }
            }
            Self::Json(state) => {
                let mut s = locked(state);
                s.total = total;
                s.bytes = 0;
                s.emit();
            }
        }
    }

    fn advance(&self, bytes: u64) {
        match self {
            Self::Hidden => {}
            Self::Bars(bar) => {
                if let Some(bar) = locked(bar).as_ref() {
                    bar.inc(bytes);
                }
            }
            Self::Json(state) => {
                let mut s = locked(state);
                s.bytes += bytes;
                s.emit_if_due();
            }
        }
    }

    fn item(&self, name: &str) {
        match self {
            Self::Hidden => {}
            Self::Bars(bar) => {
                if let Some(bar) = locked(bar).as_ref() {
                    bar.set_message(name.to_owned());
                }
            }
            Self::Json(state) => {
                let mut s = locked(state);
                s.files += 1;
                s.current = Some(name.to_owned());
                s.emit_if_due();
            }
        }
    }

    fn finish(&self, _phase: Phase) {
        match self {
            Self::Hidden => {}
            Self::Bars(bar) => {
                if let Some(bar) = locked(bar).take() {
                    bar.finish_and_clear();
                }
            }
            Self::Json(state) => {
                let mut s = locked(state);
                s.current = None;
                s.emit();
            }
        }
    }
}
