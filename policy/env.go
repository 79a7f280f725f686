package policy

import (
	"fmt"
	"strings"
)

// envProblem is something wrong with a ${...} reference in a scalar.
type envProblem struct {
	message, hint string
}

// expansion is the result of expanding the ${...} references in one scalar.
type expansion struct {
	value    string // the expanded text
	expanded bool   // the text had references (or $${ escapes), so value differs from the source
	fromEnv  bool   // at least one variable supplied a value: value may hold a secret
}

// expand replaces ${VAR} and ${VAR:-default} in s with values from getenv, and $${ with a
// literal ${. As in the shell, the default is used when the variable is unset or empty. A
// missing variable without a default is a problem; problems never contain a variable's value.
//
// os.Expand is not used: it has no defaults, no escape, and also expands a bare $NAME, which
// would corrupt values such as passwords and shell snippets that contain a "$".
func expand(s string, getenv func(string) (string, bool)) (expansion, []envProblem) {
	if !strings.Contains(s, "${") {
		return expansion{value: s}, nil
	}
	var (
		b        strings.Builder
		problems []envProblem
		res      = expansion{expanded: true}
	)
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is an escaped, literal ${.
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			problems = append(problems, envProblem{
				message: fmt.Sprintf("unterminated variable reference %s", quote(s[i:])),
				hint:    `write ${NAME} or ${NAME:-default}; write $${ for a literal ${`,
			})
			break
		}
		ref := s[i : i+end+1]
		inner := ref[2 : len(ref)-1]
		name, def, hasDefault := strings.Cut(inner, ":-")
		s = s[i+end+1:]
		if !isEnvName(name) {
			problems = append(problems, envProblem{
				message: fmt.Sprintf("invalid variable reference %s", quote(ref)),
				hint:    `a variable name is letters, digits and _, not starting with a digit; write $${ for a literal ${`,
			})
			continue
		}
		v, ok := getenv(name)
		switch {
		case ok && (v != "" || !hasDefault):
			b.WriteString(v)
			res.fromEnv = true
		case hasDefault:
			b.WriteString(def)
		default:
			problems = append(problems, envProblem{
				message: fmt.Sprintf("environment variable %s is not set", name),
				hint:    fmt.Sprintf("set it, or give a default: ${%s:-value}", name),
			})
		}
	}
	res.value = b.String()
	return res, problems
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
