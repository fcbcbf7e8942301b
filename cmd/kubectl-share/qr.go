package main

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// qrStyle is how modules become characters.
type qrStyle int

const (
	// qrColour paints dark modules black on white with ANSI colours: right
	// on any terminal theme.
	qrColour qrStyle = iota
	// qrDarkBackground draws light modules as blocks, as `qrencode -t UTF8`
	// does, for light text on a dark background.
	qrDarkBackground
	// qrLightBackground draws dark modules as blocks, for dark text on a
	// light background (a file, a printout).
	qrLightBackground
)

// quietZone is the light margin around the code, in modules. The standard
// asks for four; scanners manage with two, and the terminal has room.
const quietZone = 2

// qrCode is a square of modules, true for dark.
type qrCode struct {
	size int
	dark func(x, y int) bool
}

func encodeQR(text string) (qrCode, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return qrCode{}, fmt.Errorf("encoding the QR code: %w", err)
	}
	return qrCode{size: c.Size, dark: c.Black}, nil
}

// renderQR draws the code two module rows per text line with half blocks,
// so that its modules come out square in a terminal.
func renderQR(c qrCode, style qrStyle) string {
	n := c.size + 2*quietZone
	dark := func(x, y int) bool {
		x, y = x-quietZone, y-quietZone
		return x >= 0 && y >= 0 && x < c.size && y < c.size && c.dark(x, y)
	}
	// ink says whether a module is drawn in the foreground colour.
	ink := func(x, y int) bool {
		if y >= n {
			return style != qrLightBackground // below the code: light
		}
		d := dark(x, y)
		if style == qrLightBackground {
			return d
		}
		return !d
	}
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		if style == qrColour {
			b.WriteString("\x1b[97;40m") // white ink on black: ink marks light modules
		}
		for x := range n {
			switch top, bottom := ink(x, y), ink(x, y+1); {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		if style == qrColour {
			b.WriteString("\x1b[0m")
		}
		b.WriteByte('\n')
	}
	return b.String()
}
