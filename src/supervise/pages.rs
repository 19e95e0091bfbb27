//! PID 1's resident set: once it supervises, the code that parsed, resolved and looked things
//! up will not run again.

/// Drops this process's page-table entries for the read-only parts of its binary (code,
/// constants), found in `/proc/self/smaps`: mappings of a file, not writable, and without a
/// single private (anonymous) page, so nothing can be lost — the pages stay in the page cache
/// and the next access reads them back. Parsing, resolving and HTTP code ran once and will not
/// run again; the supervisor loop faults back the little it uses, and PID 1's resident set
/// drops from the whole binary to that little.
pub fn release_code_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    // Collect first, then advise in a tight loop: code run after an madvise is faulted back.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            let read_only = perms.starts_with('r') && perms.as_bytes().get(1) == Some(&b'-');
            current = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(start), Ok(end)) if read_only && path.starts_with('/') => Some((start, end)),
                _ => None,
            };
        } else if first == "Anonymous:" {
            if let Some(range) = current.take() {
                if fields.next() == Some("0") {
                    ranges.push(range);
                }
            }
        }
    }
    for (start, end) in ranges {
        // SAFETY: a private, file-backed, read-only mapping of ours with no anonymous pages:
        // MADV_DONTNEED only unmaps its pages; the next access reads them from the file.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}
