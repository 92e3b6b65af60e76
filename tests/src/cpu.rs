//! CPU time as the benchmarks report it: this process's, and the database server's (every process
//! named `postgres`), read from `/proc`, so that a figure says how much of the machine the client
//! and the database each took.

use std::time::Duration;

/// Kernel clock ticks per second in `/proc/*/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time (user + system) of this process so far.
pub fn process_cpu() -> Duration {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// CPU time (user + system) of every process named `postgres` on this machine (the server's
/// backends and helpers); processes that end meanwhile are not counted.
pub fn postgres_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| stat_cpu(&stat))
        .sum()
}

/// utime + stime of one `/proc/<pid>/stat` line.
fn stat_cpu(stat: &str) -> Duration {
    // The command name (field 2) may hold spaces; the fields after it start with the state (3).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime is field 14 and stime field 15, 11 and 12 places after the state.
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// The cores the process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
