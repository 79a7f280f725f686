package policy

import "strings"

// oneOf words the problems of a section that takes exactly one of several keys: a monitor's
// check, a channel's or a destination's kind, a backup's source, a drill's target, a verify
// step's check.
type oneOf struct {
	what, kind string   // "monitor", "check": "the monitor has no check"
	all        []string // every key it can take, the hint when none is set
	several    string   // when several are set; default "a <what> has exactly one <kind>"
	split      string   // the hint when several are set
}

// exactlyOne reports a problem unless keys (those set, in the order of the file) hold exactly
// one: none at nonePos, and only when reportNone (callers skip it when the section already has
// a problem, or is absent); several at the second key. It returns whether there is exactly one.
func (d *decoder) exactlyOne(path string, keys []string, nonePos position, reportNone bool, o oneOf) bool {
	switch len(keys) {
	case 1:
		return true
	case 0:
		if reportNone {
			d.add(nonePos, path, "the "+o.what+" has no "+o.kind, "add one of: "+strings.Join(o.all, ", "))
		}
	default:
		several := o.several
		if several == "" {
			several = "a " + o.what + " has exactly one " + o.kind
		}
		second := path + "." + keys[1]
		d.add(d.posAt(second), second, several+", this one has "+strings.Join(keys, " and "), o.split)
	}
	return false
}
