//! The allocator, tuned for a long-running server that reads long histories now and then
//! (glibc's malloc; on other targets these do nothing).
//!
//! Measured with `loadgen upload` (a 20,000-change history arriving in one section, release
//! build): resident memory at the peak 99–111 MB with glibc's defaults, 54–79 MB with both
//! settings below; 70 s after the client left 57–62 → 38–43 MB; a cold open of that section
//! after a restart 61–62 → 47–51 MB. Their CPU cost, A/B on the full `loadgen bench` (four
//! runs of one build on 2026-11-30: neither, each alone, both): within the runs' noise (server
//! CPU per sparse edit 433–506 µs, with both 433). The mmap threshold is the one that keeps
//! memory from piling up: with the arena limit alone the server kept 1.4 GB after 10,000
//! connections left (45–53 MB with the threshold). See `bench/RESULTS.md`.

/// Call first thing in `main`, before any thread starts. glibc's own variables
/// (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`) win over these, for an operator who knows
/// better.
/// - One arena per core, not eight: every tokio worker, blocking thread (the materializer)
///   and SQLite connection thread otherwise gets an arena of its own, each keeping the pages
///   it freed.
/// - A fixed mmap threshold of 256 KiB: glibc raises its threshold after each large block is
///   freed, so a compaction's log (megabytes for a long history) came from the heap the next
///   time and its pages stayed behind.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: mallopt only changes malloc's parameters; called before other threads exist.
        unsafe {
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
            }
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
            }
        }
    }
}

/// Hands the allocator's free pages back to the system (glibc keeps them otherwise, in every
/// arena).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
