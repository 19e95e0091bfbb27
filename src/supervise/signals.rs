//! Signal plumbing for PID 1, after tini (`src/tini.c`): block the asynchronous signals first
//! thing and take them with `sigtimedwait`, so none is lost and no handler runs at an awkward
//! moment.
//!
//! Why block: the kernel silently drops a signal sent to a PID namespace's init when its
//! disposition is the default (`sig_task_ignored` in `kernel/signal.c`), but never a blocked one.
//!
//! The synchronous signals (SEGV, BUS, ILL, FPE, TRAP, ABRT, SYS) cannot be blocked: blocking
//! a real fault kills the process anyway. tini leaves them alone, so `kill -SEGV` on tini never
//! reaches the child. We install a handler instead: a fault (`si_code > 0`) or our own `abort()`
//! restores the default action and dies as it would have; the same signal sent by another
//! process (`si_code <= 0`) is forwarded to the child like any other.
//!
//! Signals 32-34 are blocked, waited for and forwarded like the others, through the raw system
//! calls: musl keeps them for itself and its `sigaddset`, `sigfillset`, `sigaction` and
//! `sigprocmask` refuse them (glibc does the same for 32-33), so a libc `sigset_t` never holds
//! them. The child's libc may well use them: 34 is glibc's `SIGRTMIN`, the JVM's first
//! real-time signal.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Faults the kernel raises on the faulting thread; never blocked (see the module comment).
pub const SYNCHRONOUS: [Signal; 7] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGABRT,
    Signal::SIGSYS,
];

/// Where a forwarded synchronous signal goes: the child's pid, minus its pgid in group mode,
/// 0 while there is no child. Read from the signal handler, so an atomic.
static FORWARD_TARGET: AtomicI32 = AtomicI32::new(0);
/// Synchronous signals sent before the child existed, one bit per signal number.
static EARLY: AtomicU64 = AtomicU64::new(0);
/// Synchronous signals the handler passed on to the child (bit n-1 for signal n), so that the
/// exit can say the child's SIGSEGV was one spark-init forwarded rather than a real fault.
static FORWARDED: AtomicU64 = AtomicU64::new(0);

/// The signals libc keeps for itself (32-34 in musl): see the module comment.
pub const LIBC_RESERVED: [i32; 3] = [32, 33, 34];

/// A set of signals as the kernel's system calls take it: bit `n-1` is signal `n`, 1 to 64.
/// Unlike libc's `sigset_t` it holds every signal, 32-34 included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    pub const EMPTY: SignalSet = SignalSet(0);

    pub fn of(signals: impl IntoIterator<Item = i32>) -> Self {
        Self(signals.into_iter().fold(0, |bits, sig| bits | bit(sig)))
    }

    /// The asynchronous signals: everything but the synchronous ones, SIGKILL and SIGSTOP
    /// (which cannot be blocked or waited for).
    pub fn asynchronous() -> Self {
        let unblockable = SYNCHRONOUS
            .iter()
            .map(|&sig| sig as i32)
            .chain([libc::SIGKILL, libc::SIGSTOP]);
        Self(!Self::of(unblockable).0)
    }

    pub fn contains(self, sig: i32) -> bool {
        self.0 & bit(sig) != 0
    }

    /// The signals in both sets.
    pub fn and(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The signals in either set.
    pub fn or(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The kernel's bits, for `rt_sigprocmask` and `rt_sigtimedwait`.
    pub fn bits(self) -> u64 {
        self.0
    }
}

fn bit(sig: i32) -> u64 {
    match sig {
        1..=64 => 1 << (sig - 1),
        _ => 0,
    }
}

/// The first thing `main` does: block the asynchronous signals, route the synchronous ones
/// through `on_synchronous`, and ignore TTIN/TTOU (still blocked, so still taken by
/// [`wait`] and forwarded). Returns the blocked set to wait on.
pub fn take_over() -> nix::Result<SignalSet> {
    let set = SignalSet::asynchronous();
    // The raw call, so that 32-34 are blocked too.
    if !raw_set_mask(libc::SIG_BLOCK, set.bits()) {
        return Err(nix::errno::Errno::last());
    }
    let handler = SigAction::new(
        SigHandler::SigAction(on_synchronous),
        SaFlags::SA_SIGINFO | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in SYNCHRONOUS {
        // SAFETY: `on_synchronous` only reads its arguments and atomics and calls the
        // async-signal-safe `getpid`, `kill`, `signal` and `raise`.
        unsafe { sigaction(sig, &handler) }?;
    }
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGTTIN, Signal::SIGTTOU] {
        // SAFETY: installing SIG_IGN runs no code of ours.
        unsafe { sigaction(sig, &ignore) }?;
    }
    Ok(set)
}

/// Starts forwarding synchronous signals to `target` (a pid, or `-pgid`), including any that
/// arrived before there was a child.
pub fn forward_to(target: i32) {
    FORWARD_TARGET.store(target, Ordering::SeqCst);
    let early = EARLY.swap(0, Ordering::SeqCst);
    for sig in 1..64 {
        if early & (1 << sig) != 0 {
            send(target, sig);
            FORWARDED.fetch_or(bit(sig), Ordering::SeqCst);
        }
    }
}

/// The synchronous signals forwarded to the child by the handler, outside the loop.
pub fn forwarded_synchronous() -> SignalSet {
    SignalSet(FORWARDED.load(Ordering::SeqCst))
}

/// Where signals go now (a pid, or `-pgid`); `None` while there is no child.
pub fn forward_target() -> Option<i32> {
    Some(FORWARD_TARGET.load(Ordering::SeqCst)).filter(|&target| target != 0)
}

/// Stops forwarding (the child is gone and its pid may be reused).
pub fn stop_forwarding() {
    FORWARD_TARGET.store(0, Ordering::SeqCst);
}

/// `kill(2)` with a raw signal number, so real-time signals pass too.
pub fn send(target: i32, sig: i32) -> bool {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(target, sig) == 0 }
}

extern "C" fn on_synchronous(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t for this delivery.
    let (code, sender) = unsafe { ((*info).si_code, (*info).si_pid()) };
    // SAFETY: getpid is async-signal-safe and has no preconditions.
    let me = unsafe { libc::getpid() };
    if code > 0 || sender == me {
        // A real fault or our own abort(): let the default action happen. For a fault the
        // faulting instruction runs again on return; a sent signal is raised again, and stays
        // pending (it is blocked in its handler) until we return.
        // SAFETY: signal and raise are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            if code <= 0 {
                libc::raise(sig);
            }
        }
        return;
    }
    let target = FORWARD_TARGET.load(Ordering::SeqCst);
    if target == 0 {
        EARLY.fetch_or(1 << sig, Ordering::SeqCst);
    } else {
        send(target, sig);
        FORWARDED.fetch_or(bit(sig), Ordering::SeqCst);
    }
}

/// A signal's name as `kill -l` and glibc (the JVM's libc) spell it on Linux x86_64
/// (`signal(7)`): `SIGKILL`, `SIGRTMIN+3`; 32 and 33, which glibc keeps for itself and names
/// not, as `signal 32`.
pub fn name(sig: i32) -> String {
    const STANDARD: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match sig {
        1..=31 => STANDARD[(sig - 1) as usize].to_string(),
        34 => "SIGRTMIN".to_string(),
        35..=49 => format!("SIGRTMIN+{}", sig - 34),
        50..=63 => format!("SIGRTMAX-{}", 64 - sig),
        64 => "SIGRTMAX".to_string(),
        _ => format!("signal {sig}"),
    }
}

pub enum Wake {
    Signal(i32),
    TimedOut,
    /// A synchronous signal's handler ran; wait again.
    Interrupted,
}

/// Waits for one signal of `set` (blocked), at most `timeout` (forever with `None`: no periodic
/// wake-ups). The raw `rt_sigtimedwait`, so that 32-34 can be waited for too.
pub fn wait(set: SignalSet, timeout: Option<Duration>) -> Wake {
    let ts = timeout.map(nix::sys::time::TimeSpec::from_duration);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t.as_ref() as *const libc::timespec);
    let bits = set.bits();
    // SAFETY: siginfo_t is plain data the kernel fills; zeroes are a valid start.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid 64-bit kernel signal set, siginfo buffer and timespec that outlive the
    // call.
    let sig = unsafe {
        libc::syscall(
            libc::SYS_rt_sigtimedwait,
            &bits as *const u64,
            &mut info as *mut libc::siginfo_t,
            ts_ptr,
            KERNEL_SIGSET_BYTES,
        )
    };
    if sig > 0 {
        // A write of spark-init's own to a closed pipe (its stderr, once a log collector is
        // gone) raises SIGPIPE on itself, with its own pid as the sender: that is not a signal
        // for the command, and forwarding it would make the next log line raise another.
        // SAFETY: the kernel filled `info` for this signal.
        let sender = unsafe { info.si_pid() };
        if sig as i32 == libc::SIGPIPE && sender == std::process::id() as i32 {
            return Wake::Interrupted;
        }
        return Wake::Signal(sig as i32);
    }
    match nix::errno::Errno::last() {
        nix::errno::Errno::EAGAIN => Wake::TimedOut,
        _ => Wake::Interrupted,
    }
}

/// Runs in the forked child before exec: only async-signal-safe calls, no allocation.
///
/// Own process group (so group forwarding and job control work), the terminal's foreground
/// group when stdin is a terminal (as tini's `isolate_child`), every disposition back to the
/// default and an empty mask: ignored signals and the mask survive exec, and a JVM started
/// with SIGTERM ignored never runs its shutdown hooks.
///
/// # Safety
/// Call only between fork and exec in the child.
pub unsafe fn reset_in_child() -> std::io::Result<()> {
    // SAFETY: plain syscalls on our own process; sigset_t is initialised by sigfillset.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        // Keep everything blocked while we change groups: tcsetpgrp from a background group
        // raises SIGTTOU.
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
        if libc::setpgid(0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::isatty(libc::STDIN_FILENO) == 1 {
            // Not fatal: without a controlling terminal there is nothing to hand over.
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
        }
        // The raw system calls, not libc's wrappers: musl's refuse signals 32-34, which it
        // keeps for itself, yet a parent may have left them ignored or blocked and the
        // child's libc may use them. Every number from 1 to 64 goes back to SIG_DFL
        // (SIGKILL and SIGSTOP refuse; nothing to do).
        for sig in 1..=64 {
            raw_set_disposition(sig, libc::SIG_DFL);
        }
        raw_set_mask(libc::SIG_SETMASK, 0);
    }
    Ok(())
}

/// `rt_sigaction(sig, {handler: SIG_DFL or SIG_IGN})` without libc's wrapper, which refuses
/// the signals libc reserves for itself (32-34 in musl, 32-33 in glibc). Returns whether the
/// kernel accepted it. Async-signal-safe: one system call.
///
/// # Safety
/// `handler` must be `SIG_DFL` or `SIG_IGN`: no restorer is set up for a real handler.
pub unsafe fn raw_set_disposition(sig: i32, handler: libc::sighandler_t) -> bool {
    let action = KernelSigaction {
        handler,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: a valid kernel sigaction for the kernel's 64-bit signal set; the caller
    // guarantees the handler needs no restorer.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &action as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            KERNEL_SIGSET_BYTES,
        ) == 0
    }
}

/// `rt_sigprocmask(how, mask)` on the kernel's 64-bit set (bit `n-1` is signal `n`), without
/// libc's wrapper (see [`raw_set_disposition`]). Async-signal-safe: one system call.
pub fn raw_set_mask(how: i32, mask: u64) -> bool {
    // SAFETY: a valid 64-bit kernel signal set; no old set is requested.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            how,
            &mask as *const u64,
            std::ptr::null_mut::<u64>(),
            KERNEL_SIGSET_BYTES,
        ) == 0
    }
}

/// The kernel's `struct sigaction` for `rt_sigaction` on x86_64 (`arch/x86/include/uapi/asm/
/// signal.h` with `SA_RESTORER`), which differs from libc's.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// The kernel's signal set is 64 bits on Linux.
const KERNEL_SIGSET_BYTES: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asynchronous_set_holds_what_libc_keeps_for_itself() {
        let set = SignalSet::asynchronous();
        for sig in LIBC_RESERVED.into_iter().chain([1, 15, 30, 35, 64]) {
            assert!(set.contains(sig), "{sig}");
        }
        for sig in [libc::SIGSEGV, libc::SIGABRT, libc::SIGKILL, libc::SIGSTOP] {
            assert!(!set.contains(sig), "{sig}");
        }
    }

    #[test]
    fn kernel_bits_are_signal_number_minus_one() {
        assert_eq!(SignalSet::of([1, 64]).bits(), 1 | 1 << 63);
        assert_eq!(SignalSet::of([0, 65]).bits(), 0, "not signals");
        let stops = SignalSet::of([libc::SIGTERM, libc::SIGINT]);
        assert_eq!(
            SignalSet::asynchronous().and(stops),
            stops,
            "both are blocked"
        );
    }

    #[test]
    fn names_match_libc_numbers() {
        for (sig, expected) in [
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGSTKFLT, "SIGSTKFLT"),
            (libc::SIGPWR, "SIGPWR"),
            (libc::SIGSYS, "SIGSYS"),
            (32, "signal 32"),
            (34, "SIGRTMIN"),
            (37, "SIGRTMIN+3"),
            (63, "SIGRTMAX-1"),
            (64, "SIGRTMAX"),
        ] {
            assert_eq!(name(sig), expected);
        }
    }
}
