// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditLogFormat is one of the formats in which Connect writes its audit log
// file.
type AuditLogFormat int

const (
	// AuditLogText is the logfmt of Connect 2022.11 and later
	// ([Logging] AuditLogFormat = TEXT, the default).
	AuditLogText AuditLogFormat = iota
	// AuditLogJSON is the JSON of Connect 2022.11 and later
	// ([Logging] AuditLogFormat = JSON): the same keys as TEXT.
	AuditLogJSON
	// AuditLogLegacyCSV is the CSV of Connect up to 2022.10
	// ([Server] AuditLogFormat = CSV).
	AuditLogLegacyCSV
	// AuditLogLegacyJSON is the JSON of Connect up to 2022.10
	// ([Server] AuditLogFormat = JSON): the API's audit log object.
	AuditLogLegacyJSON
)

var auditLogFormatNames = [...]string{"text", "json", "legacy-csv", "legacy-json"}

func (f AuditLogFormat) String() string {
	if f >= 0 && int(f) < len(auditLogFormatNames) {
		return auditLogFormatNames[f]
	}
	return "AuditLogFormat(" + strconv.Itoa(int(f)) + ")"
}

// AuditLogFormats lists every format.
var AuditLogFormats = []AuditLogFormat{AuditLogText, AuditLogJSON, AuditLogLegacyCSV, AuditLogLegacyJSON}

// AuditLogOptions selects what WriteAuditLog writes.
type AuditLogOptions struct {
	Format AuditLogFormat
	// Nodes > 1 splits the entries among that many nodes (a fixed,
	// irregular interleaving by entry id) and writes only those of Node
	// (0 to Nodes-1), as each node of a cluster writes only what happened
	// through it.
	Nodes, Node int
	// AfterID writes only entries with a larger id (to append what Step
	// added since the last write).
	AfterID int64
	// Journal mixes in service log lines that are not audit entries, about
	// one per entry, as the journal holds them when AuditLog is STDOUT or
	// STDERR. Current formats only.
	Journal bool
	// SyslogPrefix starts every line with a syslog header
	// ("Mar 10 14:30:00 node1 rstudio-connect[812]: "), as journalctl
	// prints it. Current formats only.
	SyslogPrefix bool
}

// AuditNode returns the node (0 to nodes-1) that writes the entry with id,
// in the split AuditLogOptions.Nodes makes.
func AuditNode(id int64, nodes int) int {
	if nodes <= 1 {
		return 0
	}
	h := uint64(id) * 0x9e3779b97f4a7c15
	return int((h >> 33) % uint64(nodes))
}

// WriteAuditLog writes the audit entries the server serves through
// /__api__/v1/audit_logs as Connect writes them to its audit log file, and
// returns the number of entries written. The same data, read from the file,
// must give the same counts by action as the API.
func (s *Server) WriteAuditLog(w io.Writer, opts AuditLogOptions) (int, error) {
	if opts.Format < 0 || int(opts.Format) >= len(auditLogFormatNames) {
		return 0, fmt.Errorf("connecttest: unknown audit log format %d", opts.Format)
	}
	legacy := opts.Format == AuditLogLegacyCSV || opts.Format == AuditLogLegacyJSON
	if legacy && (opts.Journal || opts.SyslogPrefix) {
		return 0, errors.New("connecttest: Journal and SyslogPrefix apply to the current formats only")
	}
	if opts.Nodes > 1 && (opts.Node < 0 || opts.Node >= opts.Nodes) {
		return 0, fmt.Errorf("connecttest: node %d of %d", opts.Node, opts.Nodes)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	var line []byte
	written := 0
	start := max(opts.AfterID-s.auditBase+1, 0)
	for i := start; i < int64(len(s.audits)); i++ {
		id := s.auditBase + i
		if opts.Nodes > 1 && AuditNode(id, opts.Nodes) != opts.Node {
			continue
		}
		a := &s.audits[i]
		if opts.Journal && i%3 == 0 {
			line = s.appendJournalLine(line[:0], a.time, i, opts)
			if _, err := bw.Write(line); err != nil {
				return written, err
			}
		}
		line = line[:0]
		switch opts.Format {
		case AuditLogLegacyCSV:
			if err := cw.Write(s.auditCSVRecord(int32(i))); err != nil {
				return written, err
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				return written, err
			}
		case AuditLogLegacyJSON:
			line = append(s.appendAudit(line, int32(i)), '\n')
		default:
			if opts.SyslogPrefix {
				line = appendSyslogPrefix(line, a.time, opts.Node)
			}
			fs := s.auditFields(int32(i))
			if opts.Format == AuditLogJSON {
				line = appendJSONFields(line, fs)
			} else {
				line = appendLogfmt(line, fs)
			}
			line = append(line, '\n')
		}
		if _, err := bw.Write(line); err != nil {
			return written, err
		}
		written++
		if opts.Journal && i%5 == 2 {
			line = s.appendJournalLine(line[:0], a.time, i+1, opts)
			if _, err := bw.Write(line); err != nil {
				return written, err
			}
		}
	}
	return written, bw.Flush()
}

// auditField is one key and value of a current-format entry; num values
// are written as integers.
type auditField struct {
	key, val string
	num      bool
}

// auditFields returns the entry's fields in the order Connect's logger
// writes them: time, level, msg, then the others sorted by key.
func (s *Server) auditFields(i int32) []auditField {
	a := &s.audits[i]
	action := auditActions[a.action]
	fs := []auditField{
		{key: "action", val: action},
		{key: "entry_id", val: strconv.FormatInt(s.auditBase+int64(i), 10), num: true},
		{key: "type", val: "audit"},
	}
	if a.user < 0 {
		fs = append(fs,
			auditField{key: "actor_id", val: "0", num: true},
			auditField{key: "actor_role", val: "system"},
			auditField{key: "actor_description", val: "Scheduled task runner"})
	} else {
		u := &s.users[a.user]
		fs = append(fs,
			auditField{key: "actor_id", val: strconv.FormatInt(u.id, 10), num: true},
			auditField{key: "actor_guid", val: u.guid},
			auditField{key: "actor_role", val: roleNames[u.role]},
			auditField{key: "actor_description", val: u.first + " " + u.last + " (" + u.username + ")"})
	}
	switch action {
	case "deploy_application", "update_application", "delete_application", "update_access_type":
		if a.target >= 0 && int(a.target) < len(s.content) {
			c := &s.content[a.target]
			fs = append(fs, auditField{key: "content_guid", val: c.guid},
				auditField{key: "content_id", val: strconv.FormatInt(c.id, 10), num: true},
				auditField{key: "content_name", val: c.name})
		}
	case "add_user", "update_user", "lock_user", "add_group_member", "remove_group_member":
		if a.target >= 0 && int(a.target) < len(s.users) {
			u := &s.users[a.target]
			fs = append(fs, auditField{key: "user_guid", val: u.guid},
				auditField{key: "user_id", val: strconv.FormatInt(u.id, 10), num: true})
		}
	case "add_group":
		if a.target >= 0 && int(a.target) < len(s.groups) {
			g := &s.groups[a.target]
			fs = append(fs, auditField{key: "group_guid", val: g.guid},
				auditField{key: "group_id", val: strconv.FormatInt(g.gid, 10), num: true},
				auditField{key: "group_name", val: g.name})
		}
	}
	slices.SortFunc(fs, func(x, y auditField) int { return strings.Compare(x.key, y.key) })
	head := []auditField{
		{key: "time", val: time.Unix(0, a.time).UTC().Format("2006-01-02T15:04:05.000Z07:00")},
		{key: "level", val: "info"},
		{key: "msg", val: s.auditDescription(action, a.target)},
	}
	return append(head, fs...)
}

// auditCSVRecord is the legacy CSV record: id, time, user id, user
// description, action, event description.
func (s *Server) auditCSVRecord(i int32) []string {
	a := &s.audits[i]
	action := auditActions[a.action]
	userID, desc := "0", "System"
	if a.user >= 0 {
		u := &s.users[a.user]
		userID, desc = strconv.FormatInt(u.id, 10), u.first+" "+u.last+" ("+u.username+")"
	}
	return []string{
		strconv.FormatInt(s.auditBase+int64(i), 10),
		time.Unix(0, a.time).In(a.style.zone()).Format(time.RFC3339Nano),
		userID, desc, action,
		// Commas and quotes, so that quoting is exercised.
		s.auditDescription(action, a.target) + `, by "` + desc + `"`,
	}
}

// appendLogfmt writes fields as logfmt: a value that holds anything but
// letters, digits and - . _ / @ ^ + is quoted with Go escapes; an empty one
// is written bare.
func appendLogfmt(b []byte, fs []auditField) []byte {
	for k, f := range fs {
		if k > 0 {
			b = append(b, ' ')
		}
		b = append(b, f.key...)
		b = append(b, '=')
		if logfmtNeedsQuote(f.val) {
			b = strconv.AppendQuote(b, f.val)
		} else {
			b = append(b, f.val...)
		}
	}
	return b
}

func logfmtNeedsQuote(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '_', c == '/', c == '@', c == '^', c == '+':
		default:
			return true
		}
	}
	return false
}

// appendJSONFields writes fields as one JSON object with sorted keys.
func appendJSONFields(b []byte, fs []auditField) []byte {
	sorted := slices.Clone(fs)
	slices.SortFunc(sorted, func(x, y auditField) int { return strings.Compare(x.key, y.key) })
	b = append(b, '{')
	for k, f := range sorted {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.key)
		b = append(b, ':')
		if f.num {
			b = append(b, f.val...)
		} else {
			b = appendJSONString(b, f.val)
		}
	}
	return append(b, '}')
}

func appendSyslogPrefix(b []byte, ns int64, node int) []byte {
	b = time.Unix(0, ns).UTC().AppendFormat(b, time.Stamp)
	b = append(b, " node"...)
	b = strconv.AppendInt(b, int64(node+1), 10)
	return append(b, " rstudio-connect[812]: "...)
}

// journalMessages are service log lines that are not audit entries.
var journalMessages = []auditField{
	{key: "msg", val: "Starting content build"},
	{key: "msg", val: `Worker "python-3.12" exited; restarting`},
	{key: "msg", val: "Scheduled report rendered"},
	{key: "msg", val: "Request completed"},
}

// appendJournalLine writes a service log line that is not an audit entry:
// without a type, or (every fourth) with type=access.
func (s *Server) appendJournalLine(b []byte, ns int64, i int64, opts AuditLogOptions) []byte {
	if opts.SyslogPrefix {
		b = appendSyslogPrefix(b, ns, opts.Node)
	}
	fs := []auditField{
		{key: "time", val: time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z07:00")},
		{key: "level", val: "info"},
		journalMessages[i%int64(len(journalMessages))],
		{key: "pid", val: strconv.FormatInt(1000+i%97, 10), num: true},
	}
	if i%4 == 3 {
		fs = append(fs, auditField{key: "type", val: "access"})
	}
	if opts.Format == AuditLogJSON {
		b = appendJSONFields(b, fs)
	} else {
		b = appendLogfmt(b, fs)
	}
	return append(b, '\n')
}
