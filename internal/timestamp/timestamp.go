// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package timestamp reads the RFC 3339 timestamps Connect writes
// (2006-01-02T15:04:05[.fraction](Z|±07:00)) without allocating, for the
// readers that meet millions of them: the API's pages and the audit log
// files. Anything else is left to time.Parse by the caller.
package timestamp

// Parts are the fields of a timestamp, as written.
type Parts struct {
	Year, Month, Day, Hour, Minute, Second int
	// Nanosecond holds the first nine fractional digits; FracDigits counts
	// them all (0 without a fraction).
	Nanosecond, FracDigits int
	// Offset is the zone's offset east of UTC, in seconds.
	Offset int
}

// Parse reads YYYY-MM-DDTHH:MM:SS[.f...](Z|±HH:MM) with valid calendar
// fields and any number of fractional digits; ok is false for anything
// else.
func Parse(b []byte) (p Parts, ok bool) {
	if len(b) < len("2006-01-02T15:04:05Z") || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return Parts{}, false
	}
	var ok1, ok2, ok3, ok4, ok5, ok6 bool
	p.Year, ok1 = digits(b[0:4])
	p.Month, ok2 = digits(b[5:7])
	p.Day, ok3 = digits(b[8:10])
	p.Hour, ok4 = digits(b[11:13])
	p.Minute, ok5 = digits(b[14:16])
	p.Second, ok6 = digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || p.Month < 1 || p.Month > 12 || p.Day < 1 ||
		p.Day > daysIn(p.Month, p.Year) || p.Hour > 23 || p.Minute > 59 || p.Second > 59 {
		return Parts{}, false
	}
	rest := b[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return Parts{}, false
		}
		p.FracDigits = n - 1
		for i := 1; i < 10; i++ {
			p.Nanosecond *= 10
			if i < n {
				p.Nanosecond += int(rest[i] - '0')
			}
		}
		rest = rest[n:]
	}
	if len(rest) == 1 && rest[0] == 'Z' {
		return p, true
	}
	if len(rest) != len("+07:00") || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' {
		return Parts{}, false
	}
	zh, okh := digits(rest[1:3])
	zm, okm := digits(rest[4:6])
	if !okh || !okm || zh > 23 || zm > 59 {
		return Parts{}, false
	}
	p.Offset = (zh*60 + zm) * 60
	if rest[0] == '-' {
		p.Offset = -p.Offset
	}
	return p, true
}

// UnixMilli is the instant in milliseconds since the Unix epoch, finer
// digits truncated.
func (p Parts) UnixMilli() int64 {
	days := daysFromCivil(p.Year, p.Month, p.Day)
	return days*86_400_000 + int64(p.Hour*3600+p.Minute*60+p.Second-p.Offset)*1000 + int64(p.Nanosecond/1_000_000)
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given date of the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}
