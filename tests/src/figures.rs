//! What the benchmarks report beside their timings: the median and range of a few runs, and CPU
//! time, this process's and the database server's (every process named `postgres`), read from
//! `/proc`, so that a figure says how much of the machine the client and the database each took.

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

/// Median, lowest and highest of a few figures.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

pub fn spread(values: impl IntoIterator<Item = f64>) -> Spread {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return Spread {
            median: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let middle = values.len() / 2;
    let median = if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    };
    Spread {
        median,
        low: values[0],
        high: values[values.len() - 1],
    }
}

/// `12.3 ms (11.0–14.1)`, or the one figure when all runs agree.
pub fn show(spread: Spread, decimals: usize, unit: &str) -> String {
    if spread.low == spread.high {
        return format!("{:.*}{unit}", decimals, spread.median);
    }
    format!(
        "{:.*}{unit} ({:.*}–{:.*})",
        decimals, spread.median, decimals, spread.low, decimals, spread.high
    )
}
