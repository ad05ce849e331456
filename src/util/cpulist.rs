//! CPU lists as Redis writes them (`server_cpulist 0-7:2`), and binding a thread to one.

/// The largest CPU number a list may name (the kernel's `cpu_set_t` holds 1024).
const MAX_CPU: usize = 1023;

/// Parses a Redis CPU list: comma-separated items, each a CPU (`3`), a range (`0-7`) or a
/// range with a stride (`0-7:2`). Returns the CPUs in order, without duplicates; `""` is the
/// empty list (no binding).
pub fn parse(list: &[u8]) -> Result<Vec<usize>, String> {
    let text = std::str::from_utf8(list).map_err(|_| "invalid CPU list".to_string())?;
    let mut cpus = Vec::new();
    if text.is_empty() {
        return Ok(cpus);
    }
    let bad = || format!("invalid CPU list '{text}'");
    let num = |s: &str| -> Result<usize, String> {
        // Digits only: `+3`, `-1` or ` 3` are not CPUs.
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_CPU)
            .ok_or_else(bad)
    };
    for item in text.split(',') {
        let (range, stride) = match item.split_once(':') {
            Some((r, s)) => (r, num(s)?),
            None => (item, 1),
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(range)?;
                (n, n)
            }
        };
        if first > last || stride == 0 {
            return Err(bad());
        }
        for cpu in (first..=last).step_by(stride) {
            if !cpus.contains(&cpu) {
                cpus.push(cpu);
            }
        }
    }
    Ok(cpus)
}

/// Binds the calling thread to `cpus` (it may run on any of them). Does nothing for an empty
/// list.
pub fn bind_current_thread(cpus: &[usize]) -> std::io::Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    // SAFETY: `set` is a plain bit set, zero-initialised, written only through CPU_SET with
    // CPU numbers below CPU_SETSIZE (parse bounds them), and passed with its own size.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    super::sched::os_result(rc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_cpu_lists() {
        assert_eq!(parse(b"").unwrap(), Vec::<usize>::new());
        assert_eq!(parse(b"3").unwrap(), vec![3]);
        assert_eq!(parse(b"0-3").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse(b"0-7:2").unwrap(), vec![0, 2, 4, 6]);
        assert_eq!(parse(b"1,0-2,5").unwrap(), vec![1, 0, 2, 5]);
        for bad in [
            &b"x"[..],
            b"1-",
            b"-1",
            b"3-1",
            b"0-4:0",
            b"1,,2",
            b" 1",
            b"+1",
            b"1024",
            b"0-3:",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn binds_the_calling_thread() {
        // CPU 0 exists everywhere; the binding is checked through the kernel's own view.
        let cpus = std::thread::spawn(|| {
            bind_current_thread(&[0]).expect("bind");
            std::fs::read_to_string("/proc/thread-self/status").expect("status")
        })
        .join()
        .expect("thread");
        assert!(cpus.lines().any(|l| l == "Cpus_allowed_list:\t0"), "{cpus}");
        assert!(bind_current_thread(&[]).is_ok());
    }
}
