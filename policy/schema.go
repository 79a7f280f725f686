package policy

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
)

// JSONSchema returns the JSON Schema of the policy file, generated from the Go types, so that
// editors can complete and check policies; docs/policy.schema.json is its output.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		Anonymous:                  true,
		ExpandedStruct:             true,
	}
	s := r.Reflect(&Policy{})
	s.Title = "Upkeep policy"
	s.Description = "An Upkeep policy file (version 1): the services, their continuity objectives and what Upkeep does to keep them. Reference: docs/policy.md."
	addNamePatterns(s, s, reflect.TypeFor[Policy](), make(map[reflect.Type]bool))
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the policy schema: %w", err)
	}
	return append(out, '\n'), nil
}

// addNamePatterns puts the name pattern on every name in the schema: fields tagged
// policy:"name" and the keys of maps tagged policy:"names=...". schema is the object schema
// of struct type t; root holds the definitions.
func addNamePatterns(root, schema *jsonschema.Schema, t reflect.Type, done map[reflect.Type]bool) {
	if done[t] || schema == nil || schema.Properties == nil {
		return
	}
	done[t] = true
	for i := range t.NumField() {
		sf := t.Field(i)
		f, ok := readField(sf)
		if !ok {
			continue
		}
		prop, ok := schema.Properties.Get(f.key)
		if !ok {
			continue
		}
		switch {
		case f.opts.isName:
			prop.Pattern = namePattern
		case f.opts.names != "" && sf.Type.Kind() == reflect.Map:
			prop.PropertyNames = &jsonschema.Schema{Pattern: namePattern}
		}
		// Descend into the struct types this field holds, through pointers, lists and maps.
		ft := sf.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			addNamePatterns(root, root.Definitions[ft.Name()], ft, done)
		}
	}
}
