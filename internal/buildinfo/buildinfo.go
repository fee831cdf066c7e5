// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package buildinfo fills in the build details of
// github.com/prometheus/common/version that the linker did not set.
//
// `make build`, goreleaser and the Dockerfile set version, revision, branch,
// build user and date with -ldflags -X. A plain `go build` or `go install`
// sets none of them, and prometheus/common/version then reports a blank
// version (it derives only the revision from the Go build info). Init takes
// what it can from the build info that the go command embeds in every
// binary: the main module's version (v0.1.0 from `go install ...@v0.1.0`, a
// pseudo-version for a commit), the VCS revision and commit time, and
// whether the tree was modified. What neither source knows is reported as
// "unknown", never blank.
package buildinfo

import (
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/common/version"
)

// Unknown is reported for a field that neither -ldflags nor the build info
// provides.
const Unknown = "unknown"

// dateLayout is the build date format of promu and of `make build`.
const dateLayout = "20060102-15:04:05"

// Fields are the build details that prometheus/common/version reports.
type Fields struct {
	Version   string
	Revision  string
	Branch    string
	BuildUser string
	BuildDate string
}

// Init fills every field of prometheus/common/version left blank by the
// linker from the Go build info of the running binary. fallbackVersion is
// used when the build info has no module version either (a build with
// -buildvcs=false from a source tree): pass the contents of the VERSION
// file. Call it once at start-up, before anything reads version.*.
func Init(fallbackVersion string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	f := Complete(Fields{
		Version:   version.Version,
		Revision:  version.Revision,
		Branch:    version.Branch,
		BuildUser: version.BuildUser,
		BuildDate: version.BuildDate,
	}, bi, fallbackVersion)
	version.Version = f.Version
	version.Revision = f.Revision
	version.Branch = f.Branch
	version.BuildUser = f.BuildUser
	version.BuildDate = f.BuildDate
}

// Complete returns f with its blank fields taken from the build info bi
// (which may be nil), then from fallbackVersion for the version, and
// "unknown" for whatever is still blank. Fields that are set are kept.
func Complete(f Fields, bi *debug.BuildInfo, fallbackVersion string) Fields {
	var modVersion, revision, vcsTime string
	var modified bool
	if bi != nil {
		modVersion = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if f.Version == "" {
		f.Version = moduleVersion(modVersion)
	}
	if f.Version == "" {
		f.Version = strings.TrimSpace(fallbackVersion)
	}
	if f.Revision == "" {
		switch {
		case revision != "" && modified:
			f.Revision = revision + "-modified"
		case revision != "":
			f.Revision = revision
		default:
			// `go install module@commit` builds from the module cache,
			// which has no VCS data; the pseudo-version names the commit.
			f.Revision = pseudoRevision(modVersion)
		}
	}
	if f.BuildDate == "" && vcsTime != "" {
		if t, err := time.Parse(time.RFC3339, vcsTime); err == nil {
			f.BuildDate = t.UTC().Format(dateLayout)
		}
	}
	for _, p := range []*string{&f.Version, &f.Revision, &f.Branch, &f.BuildUser, &f.BuildDate} {
		if *p == "" {
			*p = Unknown
		}
	}
	return f
}

// moduleVersion turns the main module's version into the form of the
// VERSION file: "v0.1.0" becomes "0.1.0". Go reports "(devel)" when it
// does not know the version; that gives "".
func moduleVersion(v string) string {
	if v == "" || v == "(devel)" {
		return ""
	}
	return strings.TrimPrefix(v, "v")
}

// pseudoRevision returns the commit hash prefix of a pseudo-version such as
// v0.1.1-0.20260101120000-0123456789ab (optionally with +incompatible or
// +dirty), or "" for a release version.
func pseudoRevision(v string) string {
	v, _, _ = strings.Cut(v, "+")
	i := strings.LastIndexByte(v, '-')
	if i < 0 {
		return ""
	}
	rev := v[i+1:]
	stamp := v[:i]
	j := strings.LastIndexAny(stamp, "-.")
	if len(rev) != 12 || !isHex(rev) || j < 0 || len(stamp[j+1:]) != 14 || !isDigits(stamp[j+1:]) {
		return ""
	}
	return rev
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
