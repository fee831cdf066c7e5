// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package buildinfo

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/version"
)

func info(mainVersion string, settings ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/posit-connect-exporter/posit_connect_exporter", Version: mainVersion}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return bi
}

func TestComplete(t *testing.T) {
	const rev = "7d25907f0e1c2b3a4d5e6f708192a3b4c5d6e7f8"
	stamped := Fields{Version: "0.1.0", Revision: rev, Branch: "main", BuildUser: "ci@build", BuildDate: "20260101-10:00:00"}
	for _, tc := range []struct {
		name     string
		in       Fields
		bi       *debug.BuildInfo
		fallback string
		want     Fields
	}{
		{
			name: "make build: -ldflags set everything, the build info is ignored",
			in:   stamped,
			bi:   info("v9.9.9", "vcs.revision", "ffffffffffffffffffffffffffffffffffffffff", "vcs.modified", "true", "vcs.time", "2030-01-01T00:00:00Z"),
			want: stamped,
		},
		{
			name:     "go install module@v0.1.0: the module version, no VCS data",
			bi:       info("v0.1.0"),
			fallback: "0.0.0",
			want:     Fields{Version: "0.1.0", Revision: Unknown, Branch: Unknown, BuildUser: Unknown, BuildDate: Unknown},
		},
		{
			name: "go install module@commit: the pseudo-version names the commit",
			bi:   info("v0.1.1-0.20260301120000-7d25907f0e1c"),
			want: Fields{Version: "0.1.1-0.20260301120000-7d25907f0e1c", Revision: "7d25907f0e1c", Branch: Unknown, BuildUser: Unknown, BuildDate: Unknown},
		},
		{
			name: "go build in a clean git checkout: version, revision and commit time",
			bi:   info("v0.0.0-20260301120000-7d25907f0e1c", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-03-01T12:00:00Z", "vcs.modified", "false"),
			want: Fields{Version: "0.0.0-20260301120000-7d25907f0e1c", Revision: rev, Branch: Unknown, BuildUser: Unknown, BuildDate: "20260301-12:00:00"},
		},
		{
			name: "go build in a modified checkout",
			bi:   info("v0.0.0-20260301120000-7d25907f0e1c+dirty", "vcs.revision", rev, "vcs.time", "2026-03-01T13:00:00+01:00", "vcs.modified", "true"),
			want: Fields{Version: "0.0.0-20260301120000-7d25907f0e1c+dirty", Revision: rev + "-modified", Branch: Unknown, BuildUser: Unknown, BuildDate: "20260301-12:00:00"},
		},
		{
			name:     "go build -buildvcs=false: the fallback version",
			bi:       info("(devel)"),
			fallback: "0.1.0\n",
			want:     Fields{Version: "0.1.0", Revision: Unknown, Branch: Unknown, BuildUser: Unknown, BuildDate: Unknown},
		},
		{
			name: "no build info and no fallback: unknown, never blank",
			want: Fields{Version: Unknown, Revision: Unknown, Branch: Unknown, BuildUser: Unknown, BuildDate: Unknown},
		},
		{
			name: "only some fields stamped: the others are filled",
			in:   Fields{Version: "0.2.0", Branch: "release-0.2"},
			bi:   info("v0.1.0", "vcs.revision", rev, "vcs.time", "not a time"),
			want: Fields{Version: "0.2.0", Revision: rev, Branch: "release-0.2", BuildUser: Unknown, BuildDate: Unknown},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Complete(tc.in, tc.bi, tc.fallback)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Complete (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPseudoRevision(t *testing.T) {
	for v, want := range map[string]string{
		"v0.0.0-20260301120000-7d25907f0e1c":              "7d25907f0e1c",
		"v0.1.1-0.20260301120000-7d25907f0e1c":            "7d25907f0e1c",
		"v0.2.0-rc.1.0.20260301120000-7d25907f0e1c":       "7d25907f0e1c",
		"v0.1.1-0.20260301120000-7d25907f0e1c+dirty":      "7d25907f0e1c",
		"v2.0.0-20260301120000-7d25907f0e1c+incompatible": "7d25907f0e1c",
		"v0.1.0":                             "",
		"v0.2.0-rc.1":                        "",
		"v0.2.0-beta-abc":                    "",
		"v0.2.0-20260301120000-7D25907F0E1C": "", // Go writes lower case
		"v0.2.0-2026030112-7d25907f0e1c":     "", // not a timestamp
		"(devel)":                            "",
		"":                                   "",
	} {
		if got := pseudoRevision(v); got != want {
			t.Errorf("pseudoRevision(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestInit checks that Init writes into prometheus/common/version and keeps
// what the linker set.
func TestInit(t *testing.T) {
	saved := Fields{version.Version, version.Revision, version.Branch, version.BuildUser, version.BuildDate}
	t.Cleanup(func() {
		version.Version, version.Revision, version.Branch, version.BuildUser, version.BuildDate =
			saved.Version, saved.Revision, saved.Branch, saved.BuildUser, saved.BuildDate
	})
	version.Version, version.Revision, version.Branch, version.BuildUser, version.BuildDate = "", "", "stamped-branch", "", ""
	Init("1.2.3")
	// A test binary has no module version and, built by go test, no VCS
	// data: the fallback version, the stamped branch, unknown elsewhere.
	if version.Version != "1.2.3" || version.Branch != "stamped-branch" {
		t.Errorf("version=%q branch=%q, want 1.2.3 and stamped-branch", version.Version, version.Branch)
	}
	for name, v := range map[string]string{"revision": version.Revision, "build_user": version.BuildUser, "build_date": version.BuildDate} {
		if v == "" {
			t.Errorf("%s is blank after Init", name)
		}
	}
}
