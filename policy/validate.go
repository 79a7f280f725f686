package policy

import (
	"encoding"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// checkNames reports entries of a section that share a name.
func (d *decoder) checkNames() {
	kinds := make([]string, 0, len(d.names))
	for kind := range d.names {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		first := make(map[string]nameDef)
		for _, def := range d.names[kind] {
			if f, dup := first[def.value]; dup {
				d.add(def.pos, def.path, fmt.Sprintf("duplicate %s name %s", kind, def.shown),
					fmt.Sprintf("already used at line %d", f.pos.line))
				continue
			}
			first[def.value] = def
		}
	}
}

// checkRefs reports references to entries that do not exist.
func (d *decoder) checkRefs() {
	for _, r := range d.refs {
		if d.broken[r.kind] {
			continue // the section itself is unreadable; that problem is reported already
		}
		defs := d.names[r.kind]
		var known, shownNames []string
		found := false
		for _, def := range defs {
			if def.value == r.value {
				found = true
				break
			}
			if slices.Contains(shownNames, def.shown) {
				continue
			}
			shownNames = append(shownNames, def.shown)
			if def.shown == strconv.Quote(def.value) { // not from the environment: may be suggested
				known = append(known, def.value)
			}
		}
		if found {
			continue
		}
		var hint string
		switch s, ok := suggest(r.value, known); {
		case len(defs) == 0:
			hint = fmt.Sprintf("no %ss are defined", r.kind)
		case ok:
			hint = fmt.Sprintf("did you mean %q?", s)
		default:
			hint = fmt.Sprintf("defined %ss: %s", r.kind, list(shownNames, 10))
		}
		d.add(r.pos, r.path, fmt.Sprintf("unknown %s %s", r.kind, r.shown), hint)
	}
}

// applyDefaults sets every field that has a default (jsonschema:"default=...") and is still
// zero, in v and everything it contains.
func applyDefaults(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return applyDefaults(v.Elem())
		}
	case reflect.Struct:
		info := readStruct(v.Type())
		for _, f := range info.fields {
			fv := v.Field(f.index)
			if f.hasDefault && fv.IsZero() {
				if err := setText(fv, f.def); err != nil {
					return fmt.Errorf("policy: default %q of %s.%s: %w", f.def, v.Type().Name(), v.Type().Field(f.index).Name, err)
				}
			}
			if err := applyDefaults(fv); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := applyDefaults(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if err := applyDefaults(elem); err != nil {
				return err
			}
			v.SetMapIndex(k, elem)
		}
	}
	return nil
}

// setText sets v from the text of a default value.
func setText(v reflect.Value, text string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(text))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("no default for a Go %s", v.Type())
	}
	return nil
}

// check runs the checks that concern more than one value, or a value's meaning rather than its
// form, and fills in the defaults that derive from other values.
func (d *decoder) check(p *Policy) {
	if n, ok := d.nodes["version"]; ok && n.scalar && p.Version != SupportedVersion && !d.hasProblem("version") {
		v := n.exp.value
		if n.exp.expanded {
			v = shown(n.source, n.exp)
		}
		d.add(n.pos, "version", fmt.Sprintf("unsupported version %s", v),
			fmt.Sprintf("this Upkeep reads version %d", SupportedVersion))
	}
	d.checkServer(&p.Server)
	for i := range p.Services {
		if p.Services[i].Title == "" {
			p.Services[i].Title = p.Services[i].Name
		}
	}
	d.checkDependencies(p.Services)
}

// hasProblem reports whether a problem has been found at path already.
func (d *decoder) hasProblem(path string) bool {
	for _, p := range d.problems {
		if p.Path == path {
			return true
		}
	}
	return false
}

// posAt returns where the value at path is written.
func (d *decoder) posAt(path string) position {
	if n, ok := d.nodes[path]; ok {
		return n.pos
	}
	return position{1, 1}
}

// show quotes the value at path for a problem message (see shown).
func (d *decoder) show(path, value string) string {
	if n, ok := d.nodes[path]; ok && n.scalar {
		return shown(n.source, n.exp)
	}
	return strconv.Quote(value)
}

func (d *decoder) checkServer(s *Server) {
	const listenPath, urlPath = "server.listen", "server.public_url"
	host, port, err := net.SplitHostPort(s.Listen)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		d.add(d.posAt(listenPath), listenPath, fmt.Sprintf("invalid listen address %s", d.show(listenPath, s.Listen)),
			`host:port with a numeric port, e.g. "127.0.0.1:8080" or ":8080"`)
		return
	}

	if s.PublicURL == "" {
		switch host {
		case "", "0.0.0.0", "::":
			host = "localhost"
		}
		s.PublicURL = "http://" + net.JoinHostPort(host, port)
		return
	}
	const urlHint = `an absolute http or https URL, e.g. "https://upkeep.example.com"`
	bad := func(what, hint string) {
		d.add(d.posAt(urlPath), urlPath, fmt.Sprintf("invalid public URL %s: %s", d.show(urlPath, s.PublicURL), what), hint)
	}
	u, err := url.Parse(s.PublicURL)
	switch {
	case err != nil:
		bad("not a URL", urlHint)
	case u.Scheme != "http" && u.Scheme != "https":
		bad("the scheme must be http or https", urlHint)
	case u.Host == "" || u.Opaque != "":
		bad("no host", urlHint)
	case u.User != nil:
		bad("user information is not allowed", "remove the user@ part")
	case u.RawQuery != "" || u.ForceQuery:
		bad("a query is not allowed", `remove the "?" and what follows`)
	case u.Fragment != "" || strings.Contains(s.PublicURL, "#"):
		bad("a fragment is not allowed", `remove the "#" and what follows`)
	default:
		// Links are made by appending paths; a trailing slash would double them.
		s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	}
}

// checkDependencies reports services that depend on themselves and cycles of dependencies.
func (d *decoder) checkDependencies(services []Service) {
	index := make(map[string]int, len(services))
	for i, s := range services {
		if _, dup := index[s.Name]; !dup {
			index[s.Name] = i
		}
	}
	nameOf := func(i int) string {
		return d.show(fmt.Sprintf("services[%d].name", i), services[i].Name)
	}
	for i, s := range services {
		for j, dep := range s.DependsOn {
			if dep == s.Name && index[s.Name] == i {
				path := fmt.Sprintf("services[%d].depends_on[%d]", i, j)
				d.add(d.posAt(path), path, fmt.Sprintf("service %s depends on itself", nameOf(i)), "remove it from its own depends_on")
			}
		}
	}

	// Depth-first search; an edge back to a service still on the stack closes a cycle.
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(services))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for j, dep := range services[i].DependsOn {
			k, ok := index[dep]
			if !ok || k == i {
				continue // unknown services and self-dependencies are reported elsewhere
			}
			switch state[k] {
			case unvisited:
				visit(k)
			case onStack:
				start := slices.Index(stack, k)
				names := make([]string, 0, len(stack)-start+1)
				for _, s := range stack[start:] {
					names = append(names, nameOf(s))
				}
				names = append(names, nameOf(k))
				path := fmt.Sprintf("services[%d].depends_on[%d]", i, j)
				d.add(d.posAt(path), path, "dependency cycle: "+strings.Join(names, " -> "),
					"services cannot depend on each other in a circle; remove one of these dependencies")
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range services {
		if state[i] == unvisited && index[services[i].Name] == i {
			visit(i)
		}
	}
}
