// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package tail follows log files matched by glob patterns and hands their
// complete lines to a Sink, reading only what was appended since the last
// Refresh. It serves every file reader of the exporter (the Workbench session
// audit log, Connect's audit log files), so they share one set of
// guarantees.
//
// # Identity, rotation and truncation
//
// Patterns (filepath.Match syntax) are expanded again on every Refresh, so
// new, rotated and per-node files are found. Files are tracked by identity
// (device and inode), not by name:
//
//   - only bytes appended since the last refresh are read; a file matched by
//     two patterns, or by two names (a symbolic link), is read once;
//   - a file renamed by rotation is recognised under its new name and never
//     read twice, even when the new name also matches a pattern;
//   - a file that no longer matches and whose name no longer leads to it
//     (renamed away or deleted) is read to its end while it is still open,
//     and forgotten once a refresh finds nothing new in it; one still at its
//     name (a glob can silently miss files on an I/O error) is kept and not
//     read twice;
//   - a file whose size drops below the read offset was truncated, and one
//     whose bytes just before the read offset changed (checked whenever its
//     size changed) was truncated and written again past that offset between
//     two refreshes: both are read again from the start;
//   - an incomplete last line is left unread until its newline arrives; it
//     is handed over as a line only when its file is retired;
//   - a line longer than Config.MaxLineBytes is skipped (Sink.TooLong) and
//     never held in memory whole.
//
// # Copies: copytruncate rotation
//
// logrotate's copytruncate copies the live file to a new name (a new inode)
// and truncates the original. A pattern such as "r-sessions.*" then matches
// the copy, whose lines were already read from the original. Every file is
// fingerprinted by a hash of its first 256 bytes read and the 64 bytes
// before its read offset; fingerprints of truncated, rotated-away and
// deleted files are remembered (the last 1024). A newly seen file whose
// beginning matches a fingerprint (same head, same bytes at that offset,
// and at least that long) continues from that offset: only lines appended to
// the original after the last refresh, and copied before the truncation, are
// read from the copy. A new file that is wholly a prefix of a file still
// followed (a copy taken before the original was truncated) is not read at
// all. Different files that share their first 256 bytes and the bytes at an
// offset are indistinguishable from copies; for log lines that carry
// timestamps and ids this does not happen.
//
// # Compressed files
//
// Compressed files are skipped, never read as text: by name (.gz, .bz2, .xz,
// .zst, .lz4, .zip, .Z) or by content (gzip, bzip2, xz and zstd magic
// bytes). Their lines were read from the uncompressed file before it was
// compressed, when the pattern matched it (use logrotate's delaycompress, so
// that the rotated file stays uncompressed for one cycle). Each refresh that
// finds new compressed files logs one line with their number and the first
// name; Result.Compressed counts them.
//
// # Open files
//
// A Tailer keeps at most Config.MaxOpen files open (32 by default), and all
// Tailers of the process together at most a quarter of the process's
// open-file limit (RLIMIT_NOFILE), so a glob matching thousands of files can
// never starve the HTTP listener of descriptors. When the bound is reached
// the least recently read file is closed; its identity and offset are kept,
// and it is reopened by name when a later refresh finds it grown (checking
// that the name still leads to the same device and inode). A file that is
// closed when it is rotated away or deleted cannot be drained: bytes written
// to it after the last refresh are lost, which is why the files read most
// recently stay open. The first refresh that matches more files than the
// bound logs one line saying so (the count, not the names).
//
// # Problems
//
// Result reports the files followed, bytes read, patterns that matched no
// file, patterns that name a directory ("DIR is a directory; give a file or
// a glob such as DIR/*.log"), and the first five errors with their count;
// Result.Problem renders them in one line of bounded length.
package tail
