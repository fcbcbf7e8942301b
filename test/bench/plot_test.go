package bench

import (
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	grey   = color.RGBA{R: 110, G: 110, B: 110, A: 255}
)

// series is one line of a plot: a value per size.
type series struct {
	name   string
	color  color.Color
	dashes []vg.Length
	y      func(*sizeResult) float64
}

// panel plots the series against N, from 0, with room above the highest
// point for the legend; target, when positive, is a horizontal line.
func (rep *report) panel(title, ylabel string, ss []series, target float64, targetName string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text = "orders assigned upstream (N)"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	high, maxN := target, 0.0
	for _, s := range ss {
		var pts plotter.XYs
		for _, r := range rep.sizes {
			y := s.y(r)
			if y <= 0 {
				continue // not measured at this size
			}
			pts = append(pts, plotter.XY{X: float64(r.N), Y: y})
			high, maxN = max(high, y), max(maxN, float64(r.N))
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width, line.Dashes = s.color, vg.Points(2), s.dashes
		points.Color, points.Shape = s.color, draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	if target > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: target}, {X: maxN * 1.05, Y: target}})
		if err != nil {
			return nil, err
		}
		line.Color, line.Width, line.Dashes = grey, vg.Points(1.5), []vg.Length{vg.Points(2), vg.Points(4)}
		p.Add(line)
		p.Legend.Add(targetName, line)
	}
	p.X.Min, p.X.Max = 0, maxN*1.05
	p.Y.Min, p.Y.Max = 0, high*1.45
	return p, nil
}

// plot draws the scaling curves side by side: full-import time of the
// operator and of the bare client, and the operator's memory.
func (rep *report) plot(path string) error {
	timePlot, err := rep.panel("Full import", "seconds", []series{
		{"operator", blue, nil, func(r *sizeResult) float64 { return r.Import.Seconds() }},
		{"bare client, 1 writer", orange, []vg.Length{vg.Points(6), vg.Points(3)}, func(r *sizeResult) float64 { return r.Bare1.Seconds() }},
		{"bare client, 8 writers", green, []vg.Length{vg.Points(2), vg.Points(3)}, func(r *sizeResult) float64 { return r.Bare8.Seconds() }},
	}, 0, "")
	if err != nil {
		return err
	}
	const mebi = 1 << 20
	memPlot, err := rep.panel("Operator memory", "MiB", []series{
		{"peak RSS", red, nil, func(r *sizeResult) float64 { return r.End.HWM / mebi }},
		{"peak heap (GC trace)", blue, []vg.Length{vg.Points(6), vg.Points(3)}, func(r *sizeResult) float64 { return float64(r.End.GCPeakHeapMiB) }},
		{"peak live heap", green, []vg.Length{vg.Points(2), vg.Points(3)}, func(r *sizeResult) float64 { return r.End.PeakLive / mebi }},
	}, 100, "target: 100 MiB at 10,000")
	if err != nil {
		return err
	}
	const w, h = 12 * vg.Inch, 4.5 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 3, PadY: vg.Inch / 6, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	plots := [][]*plot.Plot{{timePlot, memPlot}}
	canvases := plot.Align(plots, tiles, dc)
	plots[0][0].Draw(canvases[0][0])
	plots[0][1].Draw(canvases[0][1])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
