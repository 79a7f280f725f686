package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Problem is one thing wrong with a policy document, at the position of the offending node.
type Problem struct {
	File    string
	Line    int    // 1-based
	Col     int    // 1-based
	Path    string // key path of the node, e.g. services[1].objectives.rpo; empty for the document as a whole
	Message string // what is wrong
	Hint    string // how to fix it; may be empty
}

// String formats the problem as "FILE:LINE:COL: key.path: message (hint)". The key path is left
// out for problems about the document as a whole (YAML syntax errors), the hint when there is none.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Col)
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Problems is every problem found in a policy document. Load and Parse return it as their
// error when a document is invalid; use errors.As to get at the individual problems.
type Problems []Problem

// Error lists the problems one per line, sorted by line and then column.
func (ps Problems) Error() string {
	sorted := slices.Clone(ps)
	sortProblems(sorted)
	lines := make([]string, len(sorted))
	for i, p := range sorted {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func sortProblems(ps Problems) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// valueError is what the package's own text types (Duration, Percent) return for a value they
// cannot read. The loader takes what and hint from it and quotes the source text itself, because
// the value may have come from the environment and must then not appear in a problem.
type valueError struct {
	what  string // "duration"
	value string
	hint  string
}

func (e *valueError) Error() string {
	s := fmt.Sprintf("invalid %s %q", e.what, e.value)
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

// suggest returns the candidate closest to word if it is close enough to be a likely typo.
func suggest(word string, candidates []string) (string, bool) {
	limit := 2
	if len(word) <= 4 {
		limit = 1
	}
	// Comparing against very many names costs more than the hint is worth.
	const maxCandidates = 1000
	if len(candidates) > maxCandidates {
		return "", false
	}
	lower := strings.ToLower(word)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if diff := len(c) - len(word); diff > limit || -diff > limit {
			continue // too different in length to be close
		}
		if d := editDistance(lower, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, bestDist <= limit
}

// editDistance is the optimal string alignment distance between a and b (Levenshtein with
// transpositions, so "lgo" is one edit from "log"), counted in bytes. Words longer than any key
// or name are not compared: their distance is reported as large.
func editDistance(a, b string) int {
	const maxLen = 64
	if len(a) > maxLen || len(b) > maxLen {
		if a == b {
			return 0
		}
		return maxLen
	}
	// Three rows of the distance matrix: row i holds the distances between a[:i] and b[:j].
	rows := make([]int, 3*(len(b)+1))
	prev2, prev, cur := rows[:len(b)+1], rows[len(b)+1:2*(len(b)+1)], rows[2*(len(b)+1):]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// quote quotes text from the document for a problem message: escaped, so that a problem stays
// on one line, and shortened, so that a huge value does not make a huge problem.
func quote(s string) string {
	const most = 60
	if len(s) > most {
		cut := most
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}

// parserMessage makes a message from the YAML parser fit in a problem: the parser quotes parts
// of the document in some messages, which may be long or contain control characters.
func parserMessage(s string) string {
	const most = 200
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	if len(s) > most {
		cut := most
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// list joins words with commas, at most limit of them.
func list(words []string, limit int) string {
	var b strings.Builder
	for i, w := range words {
		if i == limit {
			fmt.Fprintf(&b, " and %d more", len(words)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w)
	}
	return b.String()
}
