package gqlhttp

import (
	"bytes"
	"encoding/json"

	"github.com/vektah/gqlparser/v2/ast"
)

// withoutDeferredPlaceholders removes from the first part of an incremental
// answer the nulls gqlgen writes where deferred fields will come: the
// incremental delivery format leaves them out until their part arrives, and
// a null there would be a null for a non-null field with no error. Fields
// are kept in the order gqlgen wrote them.
func withoutDeferredPlaceholders(data json.RawMessage, op *ast.OperationDefinition, variables map[string]any) json.RawMessage {
	if op == nil || len(data) == 0 || data[0] != '{' {
		return data
	}
	out, err := stripObject(data, []selection{{set: op.SelectionSet}}, variables)
	if err != nil {
		return data
	}
	return out
}

// selection is a selection set and whether it lies inside a deferred
// fragment.
type selection struct {
	set      ast.SelectionSet
	deferred bool
}

// responseKey is what the selections ask of one key of an object: whether
// any asks for it outside a deferred fragment, and its sub-selections.
type responseKey struct {
	outside  bool
	children []selection
}

func collectKeys(sels []selection, variables map[string]any) map[string]*responseKey {
	keys := map[string]*responseKey{}
	// A fragment spread again in the same object adds nothing: walking it
	// once (deferred or not) keeps the work linear in the document, where
	// fragments spreading the next one twice would double it per level.
	type spread struct {
		def      *ast.FragmentDefinition
		deferred bool
	}
	walked := map[spread]bool{}
	var walk func(set ast.SelectionSet, deferred bool)
	walk = func(set ast.SelectionSet, deferred bool) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				key := sel.Alias
				if key == "" {
					key = sel.Name
				}
				k := keys[key]
				if k == nil {
					k = &responseKey{}
					keys[key] = k
				}
				k.outside = k.outside || !deferred
				if len(sel.SelectionSet) > 0 {
					k.children = append(k.children, selection{set: sel.SelectionSet, deferred: deferred})
				}
			case *ast.InlineFragment:
				walk(sel.SelectionSet, deferred || deferredBy(sel.Directives, variables))
			case *ast.FragmentSpread:
				s := spread{def: sel.Definition, deferred: deferred || deferredBy(sel.Directives, variables)}
				if s.def != nil && !walked[s] {
					walked[s] = true
					walk(s.def.SelectionSet, s.deferred)
				}
			}
		}
	}
	for _, s := range sels {
		walk(s.set, s.deferred)
	}
	return keys
}

// deferredBy reports whether directives defer their fragment: @defer, with
// an if argument that is not false.
func deferredBy(directives ast.DirectiveList, variables map[string]any) bool {
	d := directives.ForName("defer")
	if d == nil {
		return false
	}
	if on, ok := d.ArgumentMap(variables)["if"].(bool); ok {
		return on
	}
	return true
}

var null = []byte("null")

func stripObject(raw json.RawMessage, sels []selection, variables map[string]any) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	keys := collectKeys(sels, variables)
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if k := keys[key]; k != nil {
			if !k.outside && bytes.Equal(value, null) {
				continue
			}
			if len(k.children) > 0 {
				if value, err = stripValue(value, k.children, variables); err != nil {
					return nil, err
				}
			}
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(key)
		out.Write(name)
		out.WriteByte(':')
		out.Write(value)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

func stripValue(raw json.RawMessage, sels []selection, variables map[string]any) (json.RawMessage, error) {
	switch {
	case len(raw) > 0 && raw[0] == '{':
		return stripObject(raw, sels, variables)
	case len(raw) > 0 && raw[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		for i := range items {
			item, err := stripValue(items[i], sels, variables)
			if err != nil {
				return nil, err
			}
			items[i] = item
		}
		return json.Marshal(items)
	}
	return raw, nil
}
