// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

const (
	shinyPath  = "/__api__/v1/instrumentation/shiny/usage"
	visitsPath = "/__api__/v1/instrumentation/content/visits"
	auditPath  = "/__api__/v1/audit_logs"
)

// plannedFault makes page `page` (1-based) of the next read of one stream
// fail with kind, by arming the simulator's one-shot fault just before that
// page is requested: a failure in the middle of a stream.
type plannedFault struct {
	page int
	kind connecttest.FaultKind
}

// faultySource wraps the real client and arms planned faults.
type faultySource struct {
	*connectapi.Client
	srv *connecttest.Server

	mu    sync.Mutex
	plan  map[string]plannedFault
	pages map[string]int // pages applied, per stream, over the test
}

func (f *faultySource) take(path string) plannedFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	pf := f.plan[path]
	delete(f.plan, path)
	return pf
}

func (f *faultySource) arm(path string, pf plannedFault, n int) {
	if pf.page > 0 && n == pf.page-1 {
		f.srv.SetFault(connecttest.Fault{Kind: pf.kind, Path: path, Times: 1})
	}
	f.mu.Lock()
	f.pages[path]++
	f.mu.Unlock()
}

func (f *faultySource) EachShinySessionPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error {
	pf := f.take(shinyPath)
	f.arm(shinyPath, pf, 0)
	n := 0
	return f.Client.EachShinySessionPage(ctx, q, func(p []connectapi.ShinySession) error {
		n++
		f.arm(shinyPath, pf, n)
		return fn(p)
	})
}

func (f *faultySource) EachVisitPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error {
	pf := f.take(visitsPath)
	f.arm(visitsPath, pf, 0)
	n := 0
	return f.Client.EachVisitPage(ctx, q, func(p []connectapi.Visit) error {
		n++
		f.arm(visitsPath, pf, n)
		return fn(p)
	})
}

func (f *faultySource) EachAuditPage(ctx context.Context, newestFirst bool, fn func([]connectapi.AuditEntry) error) error {
	pf := f.take(auditPath)
	f.arm(auditPath, pf, 0)
	n := 0
	return f.Client.EachAuditPage(ctx, newestFirst, func(p []connectapi.AuditEntry) error {
		n++
		f.arm(auditPath, pf, n)
		return fn(p)
	})
}

// simTruth reads the simulator's true totals since the baseline.
func simTruth(srv *connecttest.Server, t0 time.Time, auditAfter int64) (values, map[string]float64) {
	want := values{mStarted: {}, mEnded: {}, mVisits: {}, mAudit: {}}
	dur := map[string]float64{}
	for g, st := range srv.ShinyTotals(t0) {
		want[mStarted][g] = float64(st.Started)
		want[mEnded][g] = float64(st.Ended)
		dur[g] = st.DurationSeconds
	}
	for g, v := range srv.VisitTotals(t0) {
		want[mVisits][g] = float64(v.All - v.HealthMonitor)
	}
	for a, n := range srv.AuditTotals(auditAfter) {
		want[mAudit][a] = float64(n)
	}
	return want, dur
}

// compareSim compares counts exactly and durations to within float
// rounding (both sides sum integer nanoseconds; they convert differently).
func compareSim(t *testing.T, got values, want values, dur map[string]float64) {
	t.Helper()
	for _, m := range []string{mStarted, mEnded, mVisits, mAudit} {
		if d := cmp.Diff(nonZero(want[m]), nonZero(got[m])); d != "" {
			t.Errorf("%s differs from the simulator's truth (-want +got):\n%s", m, d)
		}
	}
	if len(nonZero(dur)) != len(nonZero(got[mDuration])) {
		t.Errorf("duration series: %d, want %d", len(nonZero(got[mDuration])), len(nonZero(dur)))
	}
	for guid, w := range dur {
		if g := got[mDuration][guid]; math.Abs(g-w) > 1e-9*math.Max(1, w) {
			t.Errorf("%s{%s} = %v, want %v", mDuration, guid, g, w)
		}
	}
}

// TestSimulatorLiveExact drives the simulator in live mode through many
// scrapes: sessions start and end between scrapes, stay open across
// several and straddle the overlap; pages fail mid-stream (500, truncated
// JSON, an HTML proxy page) and are retried; Connect goes down; the
// exporter restarts cleanly or crashes while events keep arriving. After
// every scrape whose reads all succeeded, every counter must equal the
// simulator's truth.
func TestSimulatorLiveExact(t *testing.T) {
	seeds, scrapes := []int64{1, 2}, 50
	if raceEnabled || testing.Short() {
		seeds, scrapes = seeds[:1], 25
	}
	for _, seed := range seeds {
		t.Run("seed"+strconv.FormatInt(seed, 10), func(t *testing.T) {
			clk := newClock()
			srv := testutil.Start(t, connecttest.New(connecttest.Config{
				Seed: seed, Users: 300, Content: 60, Now: clk.Now, History: 6 * time.Hour,
				// Dense enough that a read spans several 500-row pages.
				ShinySessions: 30_000, Visits: 60_000, AuditEntries: 40_000,
			}))
			client, err := connectapi.NewClient(srv.URL(), connectapi.WithAPIKey(connectapi.StaticKey(connecttest.DefaultAPIKey)))
			if err != nil {
				t.Fatal(err)
			}
			src := &faultySource{Client: client, srv: srv, plan: map[string]plannedFault{}, pages: map[string]int{}}
			cfg := Config{
				Client: src, Now: clk.Now, StateFile: filepath.Join(t.TempDir(), "state.json"),
				Interval: time.Millisecond, Overlap: 2 * time.Minute, ReadTimeout: time.Minute,
			}
			s := newStreams(t, cfg)
			t0 := clk.Now()
			auditBase := srv.LastAuditID()
			scrape(t, s) // the baseline
			// The simulator truncates event times to whole seconds for some
			// records; keep live events strictly after t0 so that "new since
			// the baseline" and the truth's "time > t0" are the same set.
			clk.Advance(2 * time.Second)
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			step := func(d time.Duration) {
				clk.Advance(d)
				srv.Step(d)
			}
			kinds := []connecttest.FaultKind{connecttest.FaultServerError, connecttest.FaultTruncatedJSON, connecttest.FaultProxyHTML}
			compared, failedReads := 0, 0
			var snap []byte
			prev := values{}
			for i := range scrapes {
				step(time.Duration(10+rng.IntN(230)) * time.Second)
				down := false
				switch rng.IntN(10) {
				case 0, 1, 2:
					path := []string{shinyPath, visitsPath, auditPath}[rng.IntN(3)]
					src.mu.Lock()
					src.plan[path] = plannedFault{page: 2 + rng.IntN(3), kind: kinds[rng.IntN(len(kinds))]}
					src.mu.Unlock()
				case 3:
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					for range 1 + rng.IntN(3) { // events keep arriving while the exporter is down
						step(time.Duration(30+rng.IntN(120)) * time.Second)
					}
					s = newStreams(t, cfg)
				case 4:
					// A crash whose last save was a few scrapes ago: the
					// restart re-reads from the older snapshot.
					s.cancel()
					s.wg.Wait()
					if snap != nil {
						if err := os.WriteFile(cfg.StateFile, snap, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					step(time.Duration(rng.IntN(120)) * time.Second)
					s = newStreams(t, cfg)
				case 5:
					srv.SetFault(connecttest.Fault{Kind: connecttest.FaultDown})
					down = true
				}
				if rng.IntN(4) == 0 {
					if snap, err = os.ReadFile(cfg.StateFile); err != nil {
						t.Fatal(err)
					}
				}
				r := scrapeCtx(context.Background(), t, s)
				checkMonotone(t, prev, r.v)
				srv.ClearFaults()
				if err := srv.ListenErr(); err != nil {
					t.Fatal(err)
				}
				ok := r.errs["shiny"] == nil && r.errs["visits"] == nil && r.errs["audit"] == nil
				if down && ok {
					t.Fatalf("scrape %d: Connect was down but every read succeeded", i)
				}
				for name, err := range r.errs {
					if err != nil {
						failedReads++
						if _, emitted := r.v[map[string]string{"shiny": mStarted, "visits": mVisits, "audit": mAudit}[name]]; emitted {
							t.Errorf("scrape %d: %s failed (%v) but emitted series", i, name, err)
						}
					}
				}
				if !ok {
					continue
				}
				want, dur := simTruth(srv, t0, auditBase)
				compareSim(t, r.v, want, dur)
				compared++
				if t.Failed() {
					t.Fatalf("differs after scrape %d", i)
				}
			}
			// A last clean scrape after all faults.
			step(time.Minute)
			r := scrape(t, s)
			want, dur := simTruth(srv, t0, auditBase)
			compareSim(t, r.v, want, dur)
			open, ended := s.shiny.sizes()
			src.mu.Lock()
			pages := src.pages[shinyPath]
			src.mu.Unlock()
			t.Logf("compared %d scrapes, %d failed reads, %d Shiny pages; dedup state: %d open sessions, %d ended keys, %d visit keys; %d apps counted",
				compared, failedReads, pages, open, ended, s.visits.size(), len(r.v[mStarted]))
			if compared < scrapes/3 || failedReads < 5 {
				t.Errorf("too few compared scrapes (%d) or failures (%d) to mean much", compared, failedReads)
			}
			if pages < 2*scrapes {
				t.Errorf("only %d Shiny pages read: reads did not span several pages", pages)
			}
		})
	}
}
