package policy

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Limits that keep a hostile or broken document from using unbounded time or memory. A real
// policy is far below all of them.
const (
	// maxWork bounds the decoding steps. YAML aliases let a small document describe a huge
	// one ("billion laughs"); decoding stops with a problem when it grows past this.
	maxWork = 1_000_000
	// maxProblems bounds the problems reported for one document.
	maxProblems = 1000
)

// namePattern is what the names of services, monitors, channels, ... must look like: they
// appear in URLs and in the store.
const namePattern = `^[A-Za-z0-9][A-Za-z0-9._-]*$`

const nameHint = `a name starts with a letter or digit and has only letters, digits, ".", "_" and "-", because names appear in URLs`

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// kindNamer is implemented by value types that want a better word than "a string" in
// "expected ..., got ..." problems.
type kindNamer interface{ kindName() string }

var kindNamerType = reflect.TypeFor[kindNamer]()

// commandType is written as a string or as a list of strings.
var commandType = reflect.TypeFor[Command]()

// position is a line and column in the document, both 1-based.
type position struct{ line, col int }

// nodeInfo is what the decoder remembers about the value at a key path, so that checks after
// decoding can point at it and quote it.
type nodeInfo struct {
	pos    position
	source string // a scalar as written, before ${} expansion
	exp    expansion
	scalar bool
}

// nameDef is one named entry of a section (a service, a channel, ...).
type nameDef struct {
	value       string
	shown       string // how problems quote it
	suggestable bool   // written in the file, not taken from the environment: may be shown in hints
	pos         position
	path        string
}

// refUse is one place that refers to a named entry.
type refUse struct {
	kind  string
	value string
	shown string
	pos   position
	path  string
}

// problemKey identifies a problem for de-duplication: content reached through several aliases
// is decoded several times but is wrong only once.
type problemKey struct {
	line, col     int
	message, hint string
}

// decoder decodes one document's syntax tree into a Policy, collecting problems.
type decoder struct {
	file     string
	getenv   func(string) (string, bool)
	problems Problems
	seen     map[problemKey]bool
	stopped  bool // a limit was reached: decode nothing more
	work     int

	aliases map[*ast.AliasNode]ast.Node
	nodes   map[string]nodeInfo
	names   map[string][]nameDef
	refs    []refUse
	broken  map[string]bool // kinds whose section could not be read: references to them are not checked
	structs map[reflect.Type]*structInfo
	nameRE  *regexp.Regexp
}

func newDecoder(file string, getenv func(string) (string, bool)) *decoder {
	return &decoder{
		file:    file,
		getenv:  getenv,
		seen:    make(map[problemKey]bool),
		work:    maxWork,
		aliases: make(map[*ast.AliasNode]ast.Node),
		nodes:   make(map[string]nodeInfo),
		names:   make(map[string][]nameDef),
		broken:  make(map[string]bool),
		structs: make(map[reflect.Type]*structInfo),
		nameRE:  regexp.MustCompile(namePattern),
	}
}

// add records a problem, once.
func (d *decoder) add(pos position, path, message, hint string) {
	if d.stopped {
		return
	}
	k := problemKey{pos.line, pos.col, message, hint}
	if d.seen[k] {
		return
	}
	d.seen[k] = true
	if len(d.problems) == maxProblems {
		d.problems = append(d.problems, Problem{File: d.file, Line: pos.line, Col: pos.col, Path: path,
			Message: fmt.Sprintf("too many problems; stopped after %d", maxProblems)})
		d.stopped = true
		return
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: pos.line, Col: pos.col, Path: path, Message: message, Hint: hint})
}

// spend takes n steps from the work budget and reports whether decoding may go on.
func (d *decoder) spend(n int, pos position) bool {
	if d.stopped {
		return false
	}
	d.work -= n
	if d.work < 0 {
		d.add(pos, "", "the document is too large once its aliases are expanded", "use fewer nested aliases (*name)")
		d.stopped = true
		return false
	}
	return true
}

// posOf returns where a node starts in the document.
func posOf(n ast.Node) position {
	switch v := n.(type) {
	case nil:
		return position{1, 1}
	case *ast.MappingNode:
		// A block mapping's own token is the first ":"; point at the first key instead.
		if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0] != nil && v.Values[0].Key != nil {
			return posOf(v.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return posOf(v.Key)
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return position{1, 1}
	}
	return position{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
}

// collectAnchors resolves every alias in the tree to the node its anchor names. An anchor is
// recorded only after the node it labels, so an alias can never refer to a node that contains
// it, and expanding aliases always ends.
func (d *decoder) collectAnchors(root ast.Node) {
	anchors := make(map[string]ast.Node)
	type item struct {
		node ast.Node
		done *ast.AnchorNode // set when the node's children are done and the anchor can be recorded
	}
	stack := []item{{node: root}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.done != nil {
			if name, ok := anchorName(it.done.Name); ok {
				anchors[name] = it.done.Value
			}
			continue
		}
		var children []ast.Node
		switch v := it.node.(type) {
		case *ast.AnchorNode:
			stack = append(stack, item{done: v})
			children = []ast.Node{v.Value}
		case *ast.AliasNode:
			if name, ok := anchorName(v.Value); ok {
				if target, ok := anchors[name]; ok {
					d.aliases[v] = target
				}
			}
		case *ast.TagNode:
			children = []ast.Node{v.Value}
		case *ast.MappingNode:
			for _, mv := range v.Values {
				children = append(children, mv)
			}
		case *ast.MappingValueNode:
			children = []ast.Node{v.Key, v.Value}
		case *ast.MappingKeyNode:
			children = []ast.Node{v.Value}
		case *ast.SequenceNode:
			children = v.Values
		}
		// Push in reverse so children are visited in document order.
		for i := len(children) - 1; i >= 0; i-- {
			if children[i] != nil && !isNilNode(children[i]) {
				stack = append(stack, item{node: children[i]})
			}
		}
	}
}

// isNilNode reports whether n is an interface holding a nil pointer, which the parser leaves
// in some places.
func isNilNode(n ast.Node) bool {
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func anchorName(n ast.Node) (string, bool) {
	if n == nil || isNilNode(n) {
		return "", false
	}
	tk := n.GetToken()
	if tk == nil {
		return "", false
	}
	return tk.Value, true
}

// resolve follows anchors, aliases and tags to the node that holds a value. It returns nil for
// an absent value, and false after adding a problem when the value cannot be found.
func (d *decoder) resolve(n ast.Node, path string) (ast.Node, bool) {
	for {
		if n == nil || isNilNode(n) {
			return nil, true
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			target, ok := d.aliases[v]
			if !ok {
				name, _ := anchorName(v.Value)
				d.add(posOf(v), path, fmt.Sprintf("unknown alias %s", quote("*"+name)), "an alias (*name) refers to an anchor (&name) written before it")
				return nil, false
			}
			n = target
		case *ast.TagNode:
			tag := ""
			if v.Start != nil {
				tag = v.Start.Value
			}
			if !strings.HasPrefix(tag, "!!") {
				d.add(posOf(v), path, fmt.Sprintf("unsupported YAML tag %s", quote(tag)), "only the standard tags (!!str, !!int, ...) are allowed")
				return nil, false
			}
			n = v.Value
		case *ast.NullNode:
			return nil, true
		default:
			return n, true
		}
	}
}

// isNull reports whether n is an absent value, following anchors and aliases without adding problems.
func (d *decoder) isNull(n ast.Node) bool {
	for range 100 {
		if n == nil || isNilNode(n) {
			return true
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			target, ok := d.aliases[v]
			if !ok {
				return false
			}
			n = target
		case *ast.NullNode:
			return true
		default:
			return false
		}
	}
	return false
}

// scalarText returns a scalar node's text as written (after YAML unquoting, before ${} expansion).
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode, *ast.MergeKeyNode:
		tk := n.GetToken()
		if tk == nil {
			return "", false
		}
		return tk.Value, true
	}
	return "", false
}

// describe names the kind of a node for "expected ..., got ..." problems.
func describe(n ast.Node) string {
	switch n.(type) {
	case nil:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode, *ast.MergeKeyNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	}
	return "a " + n.Type().YAMLName()
}

// expected names what a Go type is written as in YAML.
func expected(t reflect.Type) string {
	if t.Implements(kindNamerType) {
		return reflect.Zero(t).Interface().(kindNamer).kindName()
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.Kind().String()
}

func (d *decoder) mismatch(n ast.Node, t reflect.Type, path string) {
	hint := ""
	if t.Kind() == reflect.Slice {
		hint = `write one entry per line starting with "- ", or [a, b]`
	}
	d.add(posOf(n), path, fmt.Sprintf("expected %s, got %s", expected(t), describe(n)), hint)
}

// shown quotes a scalar for a problem message. A value that came from the environment may be
// a secret, so its source text is quoted instead ("${RPO}"); so is one that used a default.
func shown(source string, exp expansion) string {
	if !exp.expanded {
		return quote(exp.value)
	}
	s := quote(source)
	if exp.fromEnv {
		s += " (value from the environment)"
	}
	return s
}

// joinPath appends a mapping key to a key path: services[0] + name = services[0].name. Keys
// that would make the path ambiguous are quoted: channels["ops.mail"].
func joinPath(path, key string) string {
	plain := key != "" && len(key) <= 64
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	switch {
	case !plain:
		return path + "[" + quote(key) + "]"
	case path == "":
		return key
	default:
		return path + "." + key
	}
}

// fieldOpts are the decoding options of one value, from its struct field's tags.
type fieldOpts struct {
	names    string   // a section of named entries of this kind (policy:"names=...")
	ref      string   // the value names an entry of this kind (policy:"ref=...")
	isName   bool     // the value is the name of an entry (policy:"name")
	nameKind string   // the kind of entry it names, when it is in a section
	enum     []string // allowed values (jsonschema:"enum=...")
}

// decode decodes node n into v; path is n's key path.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string, opts fieldOpts) {
	if !d.spend(1, posOf(n)) {
		return
	}
	n, ok := d.resolve(n, path)
	if !ok || n == nil {
		return // absent: the zero value stays, defaults come later
	}
	pos := posOf(n)
	if _, seen := d.nodes[path]; !seen {
		d.nodes[path] = nodeInfo{pos: pos}
	}

	if v.Type() == commandType {
		if _, isList := n.(*ast.SequenceNode); isList {
			var argv []string
			d.decodeSlice(n, reflect.ValueOf(&argv).Elem(), path, opts)
			v.Set(reflect.ValueOf(Command{Argv: argv}))
			return
		}
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		d.decodeText(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path, opts)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path, opts.names)
	case reflect.Map:
		d.decodeMap(n, v, path, opts)
	case reflect.Slice:
		d.decodeSlice(n, v, path, opts)
	default:
		d.decodeScalar(n, v, path, opts)
	}
}

// scalar reads and expands a scalar node, adding problems when it is not a scalar or its
// ${} references cannot be expanded.
func (d *decoder) scalar(n ast.Node, t reflect.Type, path string) (string, expansion, bool) {
	text, ok := scalarText(n)
	if !ok {
		d.mismatch(n, t, path)
		return "", expansion{}, false
	}
	exp, problems := expand(text, d.getenv)
	for _, p := range problems {
		d.add(posOf(n), path, p.message, p.hint)
	}
	if len(problems) > 0 {
		return "", expansion{}, false
	}
	d.nodes[path] = nodeInfo{pos: posOf(n), source: text, exp: exp, scalar: true}
	return text, exp, true
}

func (d *decoder) decodeText(n ast.Node, v reflect.Value, path string) {
	source, exp, ok := d.scalar(n, v.Type(), path)
	if !ok {
		return
	}
	err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(exp.value))
	if err == nil {
		return
	}
	var ve *valueError
	switch {
	case errors.As(err, &ve):
		d.add(posOf(n), path, fmt.Sprintf("invalid %s %s", ve.what, shown(source, exp)), ve.hint)
	case exp.fromEnv:
		// The error may quote the value, which may be a secret.
		d.add(posOf(n), path, fmt.Sprintf("invalid value %s", shown(source, exp)), "")
	default:
		d.add(posOf(n), path, fmt.Sprintf("invalid value %s: %v", shown(source, exp), err), "")
	}
}

func (d *decoder) decodeScalar(n ast.Node, v reflect.Value, path string, opts fieldOpts) {
	source, exp, ok := d.scalar(n, v.Type(), path)
	if !ok {
		return
	}
	pos := posOf(n)
	// A string that does not convert is "a string" when written as one, else quoted.
	got := func() string {
		if _, isString := n.(*ast.StringNode); isString && !exp.expanded {
			return "a string"
		}
		return shown(source, exp)
	}
	switch v.Kind() {
	case reflect.String:
		s := exp.value
		if len(opts.enum) > 0 && !contains(opts.enum, s) {
			hint := "one of: " + strings.Join(opts.enum, ", ")
			if s, ok := suggest(s, opts.enum); ok {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			d.add(pos, path, fmt.Sprintf("invalid value %s", shown(source, exp)), hint)
			return
		}
		v.SetString(s)
		if opts.isName {
			if !d.nameRE.MatchString(s) {
				d.add(pos, path, fmt.Sprintf("invalid name %s", shown(source, exp)), nameHint)
			}
			if opts.nameKind != "" {
				d.names[opts.nameKind] = append(d.names[opts.nameKind], nameDef{value: s, shown: shown(source, exp), suggestable: !exp.expanded, pos: pos, path: path})
			}
		}
		if opts.ref != "" {
			d.refs = append(d.refs, refUse{kind: opts.ref, value: s, shown: shown(source, exp), pos: pos, path: path})
		}
	case reflect.Bool:
		switch strings.ToLower(exp.value) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.add(pos, path, fmt.Sprintf("expected true or false, got %s", got()), "")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(exp.value, intBase(exp.value), 64)
		if err != nil || v.OverflowInt(i) {
			d.add(pos, path, fmt.Sprintf("expected %s, got %s", expected(v.Type()), got()), "")
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(exp.value, intBase(exp.value), 64)
		if err != nil || v.OverflowUint(u) {
			d.add(pos, path, fmt.Sprintf("expected %s, got %s", expected(v.Type()), got()), "")
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(exp.value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || v.OverflowFloat(f) {
			d.add(pos, path, fmt.Sprintf("expected %s, got %s", expected(v.Type()), got()), "")
			return
		}
		v.SetFloat(f)
	default:
		// Only reached if a type in this package has a field kind the decoder does not know.
		d.add(pos, path, fmt.Sprintf("cannot decode into a Go %s (a bug in Upkeep)", v.Type()), "")
	}
}

// entry is one key and value of a mapping, after merge keys are applied.
type entry struct {
	key    string
	keyPos position
	value  ast.Node
}

// entries returns the keys and values of mapping n in document order, with the entries of
// merge keys (<<: *defaults) added where the mapping does not set the key itself. It adds a
// problem for every duplicate key, and reports false if n is not a mapping.
func (d *decoder) entries(n ast.Node, path string) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	if !d.spend(len(values)+1, posOf(n)) {
		return nil, true
	}
	var own, merged []entry
	first := make(map[string]position)
	for _, mv := range values {
		if mv == nil || mv.Key == nil || isNilNode(mv.Key) {
			continue
		}
		if mv.Key.IsMergeKey() {
			merged = append(merged, d.mergeEntries(mv.Value, path)...)
			continue
		}
		key, ok := d.keyText(mv.Key, path)
		if !ok {
			continue
		}
		kpos := posOf(mv.Key)
		if p, dup := first[key]; dup {
			d.add(kpos, joinPath(path, key), fmt.Sprintf("duplicate key %s", quote(key)), fmt.Sprintf("already set at line %d", p.line))
			continue
		}
		first[key] = kpos
		own = append(own, entry{key: key, keyPos: kpos, value: mv.Value})
	}
	// Keys set in the mapping itself win over merged ones, and earlier merged mappings over later ones.
	for _, e := range merged {
		if _, set := first[e.key]; set {
			continue
		}
		first[e.key] = e.keyPos
		own = append(own, e)
	}
	return own, true
}

// mergeEntries returns the entries a merge key's value brings in: one mapping, or a list of them.
func (d *decoder) mergeEntries(value ast.Node, path string) []entry {
	const hint = `write "<<: *name" or "<<: [*a, *b]" with anchors (&name) on mappings`
	n, ok := d.resolve(value, path)
	if !ok {
		return nil
	}
	if es, ok := d.entries(n, path); ok {
		return es
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.add(posOf(n), path, fmt.Sprintf("a merge key (<<) takes a mapping or a list of mappings, got %s", describe(n)), hint)
		return nil
	}
	var all []entry
	for _, item := range seq.Values {
		m, ok := d.resolve(item, path)
		if !ok {
			continue
		}
		es, ok := d.entries(m, path)
		if !ok {
			d.add(posOf(item), path, fmt.Sprintf("a merge key (<<) takes a mapping or a list of mappings, got a list with %s", describe(m)), hint)
			continue
		}
		all = append(all, es...)
	}
	return all
}

// keyText returns a mapping key as a string. Keys are taken as written: they are not expanded.
func (d *decoder) keyText(k ast.Node, path string) (string, bool) {
	if mk, ok := k.(*ast.MappingKeyNode); ok { // "? key"
		k = mk.Value
	}
	n, ok := d.resolve(k, path)
	if !ok {
		return "", false
	}
	if n == nil {
		d.add(posOf(k), path, "empty key", "every key needs a name")
		return "", false
	}
	text, ok := scalarText(n)
	if !ok {
		d.add(posOf(n), path, fmt.Sprintf("a key must be a string, got %s", describe(n)), "")
		return "", false
	}
	return text, true
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string, entryKind string) {
	es, ok := d.entries(n, path)
	if !ok {
		d.mismatch(n, v.Type(), path)
		return
	}
	info := d.structInfo(v.Type())
	present := make(map[string]bool)
	for _, e := range es {
		f, ok := info.byKey[e.key]
		if !ok {
			d.unknownKey(e, info, path)
			continue
		}
		fpath := joinPath(path, e.key)
		present[e.key] = true
		if f.required && d.isNull(e.value) {
			d.add(posOf(e.value), fpath, "a value is required", "")
			continue
		}
		opts := f.opts
		if opts.isName {
			opts.nameKind = entryKind
		}
		d.decode(e.value, v.Field(f.index), fpath, opts)
	}
	for _, f := range info.fields {
		if f.required && !present[f.key] {
			d.add(posOf(n), path, fmt.Sprintf("missing required key %q", f.key), "")
		}
	}
}

func (d *decoder) unknownKey(e entry, info *structInfo, path string) {
	var hint string
	if len(info.keys) == 0 {
		hint = "nothing can be set here in this version of Upkeep"
	} else if s, ok := suggest(e.key, info.keys); ok {
		hint = fmt.Sprintf("did you mean %q?", s)
	} else {
		hint = "valid keys: " + list(info.keys, 30)
	}
	d.add(e.keyPos, joinPath(path, e.key), fmt.Sprintf("unknown key %s", quote(e.key)), hint)
}

func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string, opts fieldOpts) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.add(posOf(n), path, fmt.Sprintf("cannot decode into a Go %s (a bug in Upkeep)", t), "")
		return
	}
	es, ok := d.entries(n, path)
	if !ok {
		d.mismatch(n, t, path)
		if opts.names != "" {
			d.broken[opts.names] = true
		}
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(es)))
	}
	for _, e := range es {
		kpath := joinPath(path, e.key)
		if opts.names != "" {
			if !d.nameRE.MatchString(e.key) {
				d.add(e.keyPos, kpath, fmt.Sprintf("invalid name %s", quote(e.key)), nameHint)
			}
			d.names[opts.names] = append(d.names[opts.names], nameDef{value: e.key, shown: quote(e.key), suggestable: true, pos: e.keyPos, path: kpath})
		}
		elem := reflect.New(t.Elem()).Elem()
		d.decode(e.value, elem, kpath, fieldOpts{ref: opts.ref, enum: opts.enum})
		v.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), elem)
	}
}

func (d *decoder) decodeSlice(n ast.Node, v reflect.Value, path string, opts fieldOpts) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.mismatch(n, v.Type(), path)
		if opts.names != "" {
			d.broken[opts.names] = true
		}
		return
	}
	t := v.Type()
	out := reflect.MakeSlice(t, 0, len(seq.Values))
	for i, item := range seq.Values {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if d.isNull(item) {
			d.add(posOf(item), ipath, fmt.Sprintf("expected %s, got nothing", expected(t.Elem())), "remove the empty entry")
			continue
		}
		elem := reflect.New(t.Elem()).Elem()
		d.decode(item, elem, ipath, opts)
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}

// intBase returns the base for strconv: YAML writes 0x1f, 0o17 and 0b101 with a prefix, and
// reads 010 as ten, not as octal.
func intBase(s string) int {
	s = strings.TrimLeft(s, "+-")
	if len(s) > 2 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		return 0
	}
	return 10
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
