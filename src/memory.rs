//! Process-wide memory settings, made once at start-up by the binary (and by the benches, so
//! their figures are the binary's).
//!
//! mimalloc asks the kernel for transparent huge pages on the memory it reserves, and Debian's
//! kernels grant them to anyone who asks. A 2 MiB page stays whole in the resident set as long as
//! one of its blocks is live, so a sync's churn of short-lived records (read on one thread, freed
//! on another) held 40–50 MiB more at its peak than with 4 KiB pages, at the same speed.

/// Turns transparent huge pages off for this process, existing mappings included. A kernel
/// without the setting (not Linux, or older than 3.15) keeps its default.
pub fn configure() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes one integer flag and touches no memory of ours.
        let status = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        if status != 0 {
            tracing::debug!(
                "transparent huge pages stay as the kernel sets them: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}
