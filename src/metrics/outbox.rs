//! The points waiting for carbon: bounded, so a Graphite that is down for hours costs a fixed
//! amount of memory; when full, the oldest points go first (the newest say most about now).

use std::collections::VecDeque;

/// At most this many bytes of plaintext lines wait (about 2,800 points of ~90 bytes: five
/// minutes of the nine container series at one sample a second, three quarters of an hour at
/// the default ten seconds).
pub const MAX_BYTES: usize = 256 * 1024;

#[derive(Debug)]
pub struct Outbox {
    lines: VecDeque<String>,
    bytes: usize,
    limit: usize,
    /// Points dropped since the last time this was taken.
    dropped: u64,
}

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Outbox {
            lines: VecDeque::new(),
            bytes: 0,
            limit,
            dropped: 0,
        }
    }

    /// Adds a line, dropping the oldest until everything fits.
    pub fn push(&mut self, line: String) {
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.bytes > self.limit {
            match self.lines.pop_front() {
                Some(old) => {
                    self.bytes -= old.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Everything waiting, as one buffer to write.
    pub fn contents(&self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.bytes);
        for line in &self.lines {
            all.extend_from_slice(line.as_bytes());
        }
        all
    }

    /// Forgets the lines wholly within the first `written` bytes of [`Outbox::contents`]; a
    /// line cut short stays, to go again whole (carbon drops the fragment when the
    /// connection closes).
    pub fn sent(&mut self, mut written: usize) {
        while let Some(first) = self.lines.front() {
            if first.len() > written {
                break;
            }
            written -= first.len();
            self.bytes -= first.len();
            self.lines.pop_front();
        }
    }

    /// How many points were dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_points_go_when_full() {
        let mut outbox = Outbox::new(20);
        for i in 0..5 {
            outbox.push(format!("a.b {i} 100\n"));
        }
        // Each line is 10 bytes: two fit.
        assert_eq!(outbox.contents(), b"a.b 3 100\na.b 4 100\n");
        assert_eq!(outbox.bytes(), 20);
        assert_eq!(outbox.take_dropped(), 3);
        assert_eq!(outbox.take_dropped(), 0);
    }

    #[test]
    fn a_partial_write_keeps_the_line_it_cut() {
        let mut outbox = Outbox::new(MAX_BYTES);
        for i in 0..3 {
            outbox.push(format!("a.b {i} 100\n"));
        }
        outbox.sent(15);
        assert_eq!(outbox.contents(), b"a.b 1 100\na.b 2 100\n");
        outbox.sent(20);
        assert!(outbox.is_empty());
        assert_eq!(outbox.bytes(), 0);
    }
}
