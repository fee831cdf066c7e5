// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sharedFixtures is where Posit's recorded API responses live, beside the
// repository. They are read in place and never copied in.
const sharedFixtures = "../../shared/fixtures"

func fixturesDir(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(sharedFixtures); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("recorded fixtures missing under CI: %v", err)
		}
		t.Skipf("recorded fixtures not present: %v", err)
	}
	return sharedFixtures
}

// readFixture strips the "//" comment lines some recordings start with.
func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "//") {
			continue
		}
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func globFixtures(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixturesDir(t), pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures match %s (%v)", pattern, err)
	}
	return files
}

// fixturePage reads a recorded page with the client's page reader, and
// checks that encoding/json reads it the same.
func fixturePage[T any](t *testing.T, path string, rec recordReader[T]) *page[T] {
	t.Helper()
	body := readFixture(t, path)
	agree(t, path, body, rec)
	p, err := decodeFast(body, rec)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func decodeStrict(t *testing.T, path string, out any) {
	t.Helper()
	if err := json.Unmarshal(readFixture(t, path), out); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

func TestRecordedServerSettings(t *testing.T) {
	files := globFixtures(t, "connectapi/tests/testthat/*/__api__/server_settings.json")
	files = append(files, filepath.Join(fixturesDir(t), "rsconnect-python/tests/testdata/connect-responses/server_settings.json"))
	for _, f := range files {
		var s ServerSettings
		decodeStrict(t, f, &s)
		dir := filepath.Base(filepath.Dir(filepath.Dir(f)))
		switch {
		case strings.Contains(f, "2024.08.0"):
			if s.Version != "" {
				t.Errorf("%s: version %q, want absent", f, s.Version)
			}
		case strings.Contains(f, "rsconnect-python"):
			if s.Version != "2023.11.0-dev+103-g11242ee129" || s.License.Seats != 20 || !s.License.HasSeats ||
				s.License.ActivityDays != 365 || !s.License.Expiration.Equal(time.UnixMilli(1711929600000)) {
				t.Errorf("%s: string licence decoded as %q %+v", f, s.Version, s.License)
			}
		case strings.Contains(f, "2024.09.0"):
			if s.License.Seats != 0 || !s.License.HasSeats || s.License.ActivityDays != 365 || s.License.Tier != "standard" ||
				!s.License.Expiration.Equal(time.UnixMilli(1759276800000)) || s.GroupsEnabled == nil || !*s.GroupsEnabled {
				t.Errorf("%s: typed licence decoded as %+v", f, s.License)
			}
		default:
			if s.Version != dir {
				t.Errorf("%s: version %q, want %q", f, s.Version, dir)
			}
		}
	}
}

func TestRecordedUsers(t *testing.T) {
	files := globFixtures(t, "connectapi/tests/testthat/2024.08.0/__api__/v1/users-*.json")
	files = append(files, globFixtures(t, "posit-sdk-py/tests/posit/connect/__api__/v1/users?page_number=*")...)
	total := 0
	for _, f := range files {
		p := fixturePage(t, f, readUser)
		for _, u := range p.results {
			if u.GUID == "" || u.Username == "" || u.Role == "" {
				t.Errorf("%s: incomplete user %+v", f, u)
			}
		}
		total += len(p.results)
	}
	if total == 0 {
		t.Error("no users decoded")
	}
	var single User
	decodeStrict(t, filepath.Join(fixturesDir(t), "rsconnect-python/tests/testdata/connect-responses/me.json"), &single)
	if single.ActiveTime == nil || single.CreatedTime.Nanosecond() != 584906476 {
		t.Errorf("nanosecond timestamps: %+v", single)
	}
}

func TestRecordedGroups(t *testing.T) {
	files := globFixtures(t, "connectapi/tests/testthat/*/__api__/v1/groups-*.json")
	files = append(files, filepath.Join(fixturesDir(t), "posit-sdk-py/tests/posit/connect/__api__/v1/groups.json"))
	for _, f := range files {
		p := fixturePage(t, f, readGroup)
		if p.total == nil || *p.total < len(p.results) {
			t.Errorf("%s: total %v < %d results", f, show(p.total), len(p.results))
		}
	}
}

func TestRecordedContent(t *testing.T) {
	lists := []string{
		"connectapi/tests/testthat/2024.08.0/__api__/v1/content-064d19.json",
		"posit-sdk-py/tests/posit/connect/__api__/v1/content.json",
		"rsconnect-python/tests/testdata/connect-responses/list-content.json",
	}
	for _, l := range lists {
		var items []Content
		decodeStrict(t, filepath.Join(fixturesDir(t), l), &items)
		if len(items) == 0 {
			t.Errorf("%s: no items", l)
		}
		for _, it := range items {
			if it.GUID == "" || it.AppMode == "" || it.ID == "" {
				t.Errorf("%s: incomplete item %+v", l, it)
			}
		}
	}
	singles := globFixtures(t, "connectapi/tests/testthat/*/__api__/v1/content/*.json")
	singles = append(singles, globFixtures(t, "rsconnect-python/tests/testdata/connect-responses/describe-content-*.json")...)
	for _, f := range singles {
		var it Content
		decodeStrict(t, f, &it)
		if it.GUID == "" {
			t.Errorf("%s: no guid", f)
		}
	}
}

func TestRecordedInstrumentation(t *testing.T) {
	dir := filepath.Join(fixturesDir(t), "posit-sdk-py/tests/posit/connect/__api__/v1/instrumentation")
	usage := fixturePage(t, filepath.Join(dir, "shiny/usage?limit=500.json"), readShinySession)
	if len(usage.results) != 1 || usage.next == nil || *usage.next != "23948901087" {
		t.Errorf("shiny usage page 1: %+v", usage)
	} else if d := usage.results[0].Ended.Sub(usage.results[0].Started); d != time.Minute {
		t.Errorf("session length %v", d)
	}
	last := fixturePage(t, filepath.Join(dir, "shiny/usage?limit=500&next=23948901087.json"), readShinySession)
	if len(last.results) != 0 || last.next != nil {
		t.Errorf("last page must be empty with no next cursor: %+v", last)
	}
	visits := fixturePage(t, filepath.Join(dir, "content/visits?limit=500.json"), readVisit)
	if len(visits.results) == 0 || visits.results[0].RenderingID != "7" || visits.results[0].BundleID != "33" {
		t.Errorf("visits with integer ids: %+v", visits.results)
	}
	// Hits: id is an integer in 2025.04 and a string in 2026.03.
	type hit struct {
		ID        FlexString `json:"id"`
		Timestamp time.Time  `json:"timestamp"`
	}
	for _, f := range append(globFixtures(t, "connectapi/tests/testthat/*/__api__/v1/instrumentation/content/hits-*.json"),
		filepath.Join(dir, "content/hits.json")) {
		var hits []hit
		decodeStrict(t, f, &hits)
		if len(hits) == 0 || hits[0].ID == "" || hits[0].Timestamp.IsZero() {
			t.Errorf("%s: %+v", f, hits)
		}
	}
}
