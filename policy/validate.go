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
	type section struct {
		defined map[string]bool
		known   []string // names written in the file (not from the environment), which may be suggested
		shown   []string // every name as problems quote it
	}
	sections := make(map[string]*section)
	for kind, defs := range d.names {
		s := &section{defined: make(map[string]bool, len(defs))}
		for _, def := range defs {
			if s.defined[def.value] {
				continue
			}
			s.defined[def.value] = true
			s.shown = append(s.shown, def.shown)
			if def.suggestable {
				s.known = append(s.known, def.value)
			}
		}
		sections[kind] = s
	}
	for _, r := range d.refs {
		if d.stopped {
			return
		}
		if d.broken[r.kind] {
			continue // the section itself is unreadable; that problem is reported already
		}
		s := sections[r.kind]
		if s != nil && s.defined[r.value] {
			continue
		}
		var hint string
		if s == nil {
			hint = fmt.Sprintf("no %ss are defined", r.kind)
		} else if name, ok := suggest(r.value, s.known); ok {
			hint = fmt.Sprintf("did you mean %q?", name)
		} else {
			hint = fmt.Sprintf("defined %ss: %s", r.kind, list(s.shown, 10))
		}
		d.add(r.pos, r.path, fmt.Sprintf("unknown %s %s", r.kind, r.shown), hint)
	}
}

// applyDefaults sets every field that has a default (jsonschema:"default=...") and is still
// zero, in v and everything it contains.
func (d *decoder) applyDefaults(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return d.applyDefaults(v.Elem())
		}
	case reflect.Struct:
		for _, f := range d.structInfo(v.Type()).fields {
			fv := v.Field(f.index)
			if f.hasDefault && fv.IsZero() {
				if err := setText(fv, f.def); err != nil {
					return fmt.Errorf("policy: default %q of %s.%s: %w", f.def, v.Type().Name(), v.Type().Field(f.index).Name, err)
				}
			}
			if err := d.applyDefaults(fv); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := d.applyDefaults(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if err := d.applyDefaults(elem); err != nil {
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
	d.checkMonitors(p.Monitors)
	d.checkChannels(p.Channels)
	d.checkEscalations(p.Escalations)
	d.checkStatusPage(p.StatusPage)
	d.checkMaintenance(p.Maintenance)
	d.checkSubscriptions(p)
	d.checkDestinations(p.Destinations)
	d.checkBackups(p.Backups)
	d.addBackupMonitors(p)
	d.checkDrills(p)
	d.addDrillMonitors(p)
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
	return quote(value)
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
		s.PublicURL = DerivePublicURL(net.JoinHostPort(host, port))
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
	const unvisited = -1
	const done = -2
	state := make([]int, len(services)) // unvisited, done, or the service's index in stack
	for i := range state {
		state[i] = unvisited
	}
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = len(stack)
		stack = append(stack, i)
		for j, dep := range services[i].DependsOn {
			if d.stopped {
				return
			}
			k, ok := index[dep]
			if !ok || k == i {
				continue // unknown services and self-dependencies are reported elsewhere
			}
			switch state[k] {
			case unvisited:
				visit(k)
			case done:
			default:
				path := fmt.Sprintf("services[%d].depends_on[%d]", i, j)
				d.add(d.posAt(path), path, "dependency cycle: "+d.cycle(stack[state[k]:], nameOf),
					"services cannot depend on each other in a circle; remove one of these dependencies")
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range services {
		if state[i] == unvisited && index[services[i].Name] == i && !d.stopped {
			visit(i)
		}
	}
}

// cycle formats a dependency cycle as "a" -> "b" -> "a", leaving out the middle of long ones.
func (d *decoder) cycle(members []int, nameOf func(int) string) string {
	const most = 10
	var names []string
	for i, m := range members {
		if len(members) > most && i == most/2 {
			names = append(names, fmt.Sprintf("(%d more)", len(members)-most))
		}
		if len(members) <= most || i < most/2 || i >= len(members)-most/2 {
			names = append(names, nameOf(m))
		}
	}
	names = append(names, nameOf(members[0]))
	return strings.Join(names, " -> ")
}

// DerivePublicURL is the public URL a listen address implies when the policy sets none: the
// address itself, with an unspecified host (all interfaces) shown as localhost.
func DerivePublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
