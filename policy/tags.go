package policy

import (
	"reflect"
	"strings"
)

// structInfo is what the decoder needs to know about a struct type, read from its tags.
type structInfo struct {
	fields []fieldInfo
	byKey  map[string]*fieldInfo
	keys   []string // in declaration order, for hints
}

// fieldInfo describes one field of a struct that appears in the policy file.
type fieldInfo struct {
	key        string
	index      int
	required   bool
	def        string
	hasDefault bool
	opts       fieldOpts
}

// structInfo returns the fields of struct type t, reading the tags once per decoder.
func (d *decoder) structInfo(t reflect.Type) *structInfo {
	if info, ok := d.structs[t]; ok {
		return info
	}
	info := readStruct(t)
	d.structs[t] = info
	return info
}

func readStruct(t reflect.Type) *structInfo {
	info := &structInfo{byKey: make(map[string]*fieldInfo)}
	for i := range t.NumField() {
		f, ok := readField(t.Field(i))
		if !ok {
			continue
		}
		f.index = i
		info.fields = append(info.fields, f)
		info.keys = append(info.keys, f.key)
	}
	for i := range info.fields {
		info.byKey[info.fields[i].key] = &info.fields[i]
	}
	return info
}

// readField reads a struct field's tags; it reports false for fields not in the policy file.
func readField(sf reflect.StructField) (fieldInfo, bool) {
	if !sf.IsExported() {
		return fieldInfo{}, false
	}
	key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
	if key == "-" || key == "" {
		return fieldInfo{}, false
	}
	f := fieldInfo{key: key}
	for _, tag := range splitTag(sf.Tag.Get("jsonschema")) {
		name, value, hasValue := strings.Cut(tag, "=")
		switch {
		case name == "required" && !hasValue:
			f.required = true
		case name == "default" && hasValue:
			f.def, f.hasDefault = value, true
		case name == "enum" && hasValue:
			f.opts.enum = append(f.opts.enum, value)
		}
	}
	for _, tag := range strings.Split(sf.Tag.Get("policy"), ",") {
		name, value, _ := strings.Cut(tag, "=")
		switch name {
		case "name":
			f.opts.isName = true
		case "names":
			f.opts.names = value
		case "ref":
			f.opts.ref = value
		}
	}
	// Enums of numbers (version) are checked by hand: the decoder compares strings.
	if k := sf.Type.Kind(); k != reflect.String && !(k == reflect.Slice && sf.Type.Elem().Kind() == reflect.String) {
		f.opts.enum = nil
	}
	return f, true
}

// splitTag splits a jsonschema tag on commas not preceded by a backslash, as
// github.com/invopop/jsonschema does, and removes the backslashes.
func splitTag(tag string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(tag); i++ {
		switch {
		case tag[i] == '\\' && i+1 < len(tag) && tag[i+1] == ',':
			cur.WriteByte(',')
			i++
		case tag[i] == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(tag[i])
		}
	}
	return append(parts, cur.String())
}
