package main

import (
	"bytes"
	"encoding/json"
)

// indentLevels is how many levels of JSON the command line indents; what
// nests deeper is printed compact. Orders carry attributes a remote system
// sent, nested as it pleased (the server accepts 64 levels): indenting
// every level costs each line its depth in spaces, so a fully indented
// answer can be tens of times the size of what it shows. Indenting the top
// levels only keeps the output within a small multiple of the compact
// JSON (each value gains at most a newline and 2×indentLevels spaces) and
// still lays out what a person reads: the list, each object and its
// fields.
const indentLevels = 4

// marshalIndented is json.Marshal, indented down to indentLevels.
func marshalIndented(v any) ([]byte, error) {
	compact, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return indentTop(compact, indentLevels), nil
}

// indentTop indents compact JSON (as json.Marshal writes it: no space
// outside strings) down to levels, and copies what is deeper as it is.
func indentTop(compact []byte, levels int) []byte {
	var out bytes.Buffer
	out.Grow(len(compact) + len(compact)/4)
	newline := func(depth int) {
		out.WriteByte('\n')
		for range depth {
			out.WriteString("  ")
		}
	}
	depth := 0
	inString := false
	for i := 0; i < len(compact); i++ {
		c := compact[i]
		if inString {
			out.WriteByte(c)
			switch c {
			case '\\':
				if i+1 < len(compact) {
					i++
					out.WriteByte(compact[i])
				}
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			out.WriteByte(c)
		case '{', '[':
			out.WriteByte(c)
			if i+1 < len(compact) && (compact[i+1] == '}' || compact[i+1] == ']') {
				// Empty: {} or [] on one line.
				i++
				out.WriteByte(compact[i])
				continue
			}
			depth++
			if depth <= levels {
				newline(depth)
			}
		case '}', ']':
			if depth <= levels {
				newline(depth - 1)
			}
			depth--
			out.WriteByte(c)
		case ',':
			out.WriteByte(c)
			if depth <= levels {
				newline(depth)
			}
		case ':':
			out.WriteByte(c)
			if depth <= levels {
				out.WriteByte(' ')
			}
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}
