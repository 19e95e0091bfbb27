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

/// The asynchronous signals: everything but the synchronous ones (SIGKILL and SIGSTOP cannot
/// be blocked and are ignored by `sigprocmask`).
pub fn asynchronous_set() -> SigSet {
    let mut set = SigSet::all();
    for sig in SYNCHRONOUS {
        set.remove(sig);
    }
    set
}

/// The first thing `main` does: block the asynchronous signals, route the synchronous ones
/// through `on_synchronous`, and ignore TTIN/TTOU (still blocked, so still taken by
/// [`wait`] and forwarded). Returns the blocked set to wait on.
pub fn take_over() -> nix::Result<SigSet> {
    let set = asynchronous_set();
    set.thread_block()?;
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
        }
    }
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
    }
}

pub enum Wake {
    Signal(i32),
    TimedOut,
    /// A synchronous signal's handler ran; wait again.
    Interrupted,
}

/// Waits for one signal of `set`, at most `timeout` (forever with `None`: no periodic wake-ups).
pub fn wait(set: &SigSet, timeout: Option<Duration>) -> Wake {
    let ts = timeout.map(nix::sys::time::TimeSpec::from_duration);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t.as_ref() as *const libc::timespec);
    // SAFETY: the set and timespec outlive the call; a null siginfo pointer is allowed.
    let sig = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), ts_ptr) };
    if sig > 0 {
        return Wake::Signal(sig);
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
