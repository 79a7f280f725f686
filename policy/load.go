package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits on the YAML text itself, checked before it reaches the parser, whose memory use
// grows with the square of the nesting depth.
const (
	// maxSize is the largest policy file accepted, in bytes.
	maxSize = 4 << 20
	// maxNesting bounds flow collections ([ and {) open at once, and block collections opened on
	// one line ("- - - x").
	maxNesting = 64
)

// QuickStartName is the name the built-in quick-start policy has in problems and summaries.
const QuickStartName = "(built-in quick-start policy)"

//go:embed quickstart.yaml
var quickStart string

// Load reads and validates the policy file at path. getenv looks up the environment variables
// that ${VAR} references name (os.LookupEnv in production). A file that cannot be read is an
// ordinary error; an invalid policy returns Problems, every problem found.
func Load(path string, getenv func(string) (string, bool)) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	// Read one byte more than the limit, so that Parse can tell a file that is too large.
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return Parse(path, data, getenv)
}

// QuickStart returns the built-in quick-start policy, which runs Upkeep with its defaults and
// monitors Upkeep itself. It is read like any other policy file.
func QuickStart(getenv func(string) (string, bool)) (*Policy, error) {
	return Parse(QuickStartName, []byte(quickStart), getenv)
}

// Parse validates the policy document data; name is the file name used in problems. A nil
// getenv means no environment variables are set. When the document is invalid the error is
// Problems, with every problem found sorted by position, and the policy is nil.
func Parse(name string, data []byte, getenv func(string) (string, bool)) (*Policy, error) {
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	d := newDecoder(name, getenv)
	p := &Policy{}
	if root, ok := d.parseYAML(data); ok {
		d.collectAnchors(root)
		d.decode(root, reflect.ValueOf(p).Elem(), "", fieldOpts{})
		if !d.stopped {
			d.checkNames()
			d.checkRefs()
			if err := d.applyDefaults(reflect.ValueOf(p).Elem()); err != nil {
				return nil, err
			}
			d.check(p)
		}
	}
	if len(d.problems) > 0 {
		sortProblems(d.problems)
		return nil, d.problems
	}
	p.File = name
	p.Source = bytes.Clone(data)
	return p, nil
}

// parseYAML parses the document into its syntax tree. It returns the root node (nil for an
// empty document) and false when the document could not be parsed; the problems say why.
func (d *decoder) parseYAML(data []byte) (ast.Node, bool) {
	if len(data) > maxSize {
		d.add(position{1, 1}, "", fmt.Sprintf("the policy is larger than %d MiB", maxSize>>20), "")
		return nil, false
	}
	file, err := parseGuarded(data)
	if err != nil {
		d.syntaxProblem(err)
		return nil, false
	}
	var root ast.Node
	found := false
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil || isNilNode(doc.Body) {
			continue // an empty document, e.g. after a trailing "---"
		}
		if found {
			pos := posOf(doc.Body)
			if doc.Start != nil && doc.Start.Position != nil {
				pos = position{max(doc.Start.Position.Line, 1), max(doc.Start.Position.Column, 1)}
			}
			d.add(pos, "", "more than one YAML document", `a policy is a single document; remove the "---" and what follows, or merge it into the first`)
			break
		}
		root, found = doc.Body, true
	}
	return root, true
}

// parseGuarded runs the YAML lexer and parser, refusing input nested so deeply that parsing it
// would take unreasonable memory, and turning a panic in the parser into an error: a broken
// policy file must produce a problem, never bring the process down.
func parseGuarded(data []byte) (file *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("the YAML parser failed on this document: %v", r)
		}
	}()
	// A byte order mark is allowed at the start of a YAML stream; the lexer would take it for
	// part of the first key.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	tokens := lexer.Tokenize(string(data))
	if tk := tokens.InvalidToken(); tk != nil {
		return nil, &yaml.SyntaxError{Message: tk.Error, Token: tk}
	}
	if tk := tooDeep(tokens); tk != nil {
		return nil, &yaml.SyntaxError{Message: fmt.Sprintf("collections nested more than %d deep", maxNesting), Token: tk}
	}
	return parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
}

// tooDeep returns the token at which the document nests collections too deeply, or nil.
func tooDeep(tokens token.Tokens) *token.Token {
	flow, line, onLine := 0, 0, 0
	for _, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
		case token.SequenceEntryType, token.MappingKeyType:
			if tk.Position != nil && tk.Position.Line != line {
				line, onLine = tk.Position.Line, 0
			}
			onLine++
		}
		if flow > maxNesting || onLine > maxNesting {
			return tk
		}
	}
	return nil
}

// syntaxProblem turns a parse error into a problem at its position.
func (d *decoder) syntaxProblem(err error) {
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		pos := position{1, 1}
		if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
			pos = position{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
		}
		d.add(pos, "", "YAML syntax error: "+parserMessage(yerr.GetMessage()), "")
		return
	}
	d.add(position{1, 1}, "", parserMessage(err.Error()), "")
}
