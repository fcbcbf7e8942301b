package bench

import (
	"fmt"
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

// xySeries is one line of a plot against something else than N.
type xySeries struct {
	name   string
	color  color.Color
	dashes []vg.Length
	pts    plotter.XYs
}

// xyPanel plots the series from 0, with room above the highest point for
// the legend; target, when positive, is a horizontal line. A panel with no
// point says what was not measured.
func xyPanel(title, xlabel, ylabel string, ss []xySeries, target float64, targetName string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	high, maxX := target, 0.0
	for _, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		for _, pt := range s.pts {
			high, maxX = max(high, pt.Y), max(maxX, pt.X)
		}
		line, err := plotter.NewLine(s.pts)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width, line.Dashes = s.color, vg.Points(2), s.dashes
		p.Add(line)
		p.Legend.Add(s.name, line)
	}
	if maxX == 0 {
		p.Title.Text += " (not measured)"
		maxX, high = 1, 1
	}
	if target > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: target}, {X: maxX * 1.05, Y: target}})
		if err != nil {
			return nil, err
		}
		line.Color, line.Width, line.Dashes = grey, vg.Points(1.5), []vg.Length{vg.Points(2), vg.Points(4)}
		p.Add(line)
		p.Legend.Add(targetName, line)
	}
	p.X.Min, p.X.Max = 0, maxX*1.05
	p.Y.Min, p.Y.Max = 0, max(high, 1)*1.45
	return p, nil
}

// carriedPanel is the operator's memory during the largest size's import
// against the projects it had recorded.
func (rep *report) carriedPanel() (*plot.Plot, error) {
	const mebi = 1 << 20
	var rss, live plotter.XYs
	title := "Memory during the import"
	if len(rep.sizes) > 0 {
		last := rep.sizes[len(rep.sizes)-1]
		title = fmt.Sprintf("Memory during the import of %d", last.N)
		for _, c := range last.Carried {
			rss = append(rss, plotter.XY{X: float64(c.Projects), Y: c.RSS / mebi})
			if c.Live > 0 {
				live = append(live, plotter.XY{X: float64(c.Projects), Y: c.Live / mebi})
			}
		}
	}
	return xyPanel(title, "SharedProjects recorded", "MiB", []xySeries{
		{"RSS", red, nil, rss},
		{"live heap", green, []vg.Length{vg.Points(2), vg.Points(3)}, live},
	}, 100, "target: 100 MiB at 10,000")
}

// linksImportPanel is the many links imported over time, and the shards'
// projects recorded over time, as shares of their totals.
func (rep *report) linksImportPanel() (*plot.Plot, error) {
	var links, one, two plotter.XYs
	if lr := rep.links; lr != nil {
		for _, pt := range lr.Progress {
			links = append(links, plotter.XY{X: pt.At.Seconds(), Y: 100 * float64(pt.Done) / float64(lr.Links)})
		}
	}
	if sh := rep.shards; sh != nil {
		for _, s := range []struct {
			ph  shardPhase
			dst *plotter.XYs
		}{{sh.Single, &one}, {sh.Sharded, &two}} {
			for _, pt := range s.ph.Progress {
				*s.dst = append(*s.dst, plotter.XY{X: pt.At.Seconds(), Y: 100 * float64(pt.Done) / float64(2*sh.Orders)})
			}
		}
	}
	name := func(format string, n int) string { return fmt.Sprintf(format, n) }
	nLinks, nOrders := 0, 0
	if rep.links != nil {
		nLinks = rep.links.Links
	}
	if rep.shards != nil {
		nOrders = rep.shards.Orders
	}
	return xyPanel("Import progress", "seconds", "% done", []xySeries{
		{name("%d links of 10 orders, one manager", nLinks), blue, nil, links},
		{name("2 links of %d orders, one manager", nOrders), orange, []vg.Length{vg.Points(6), vg.Points(3)}, one},
		{name("2 links of %d orders, two shards", nOrders), green, []vg.Length{vg.Points(2), vg.Points(3)}, two},
	}, 0, "")
}

// restartPanel is the account calls of each second after the manager
// restarted with the links imported.
func (rep *report) restartPanel() (*plot.Plot, error) {
	var all, imp plotter.XYs
	title := "After a restart"
	if lr := rep.links; lr != nil {
		title = fmt.Sprintf("After a restart with %d links", lr.Links)
		for i, c := range lr.Startup.PerSecond {
			n := 0
			for _, name := range importCalls {
				n += c[name]
			}
			all = append(all, plotter.XY{X: float64(i + 1), Y: float64(c.total())})
			imp = append(imp, plotter.XY{X: float64(i + 1), Y: float64(n)})
		}
	}
	return xyPanel(title, "seconds since the manager started", "account calls in the second", []xySeries{
		{"every call", blue, nil, all},
		{"pulls and login checks", red, []vg.Length{vg.Points(6), vg.Points(3)}, imp},
	}, 0, "")
}

// plot draws the panels in two rows: the scaling curves (full-import time,
// memory against N, memory during the largest import), then the many links
// and the shards (import progress, the calls after a restart).
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
	carried, err := rep.carriedPanel()
	if err != nil {
		return err
	}
	progressPlot, err := rep.linksImportPanel()
	if err != nil {
		return err
	}
	restart, err := rep.restartPanel()
	if err != nil {
		return err
	}
	const w, h = 18 * vg.Inch, 9 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(90))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 3, PadX: vg.Inch / 3, PadY: vg.Inch / 3, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	plots := [][]*plot.Plot{{timePlot, memPlot, carried}, {progressPlot, restart, nil}}
	canvases := plot.Align(plots, tiles, dc)
	for i, row := range plots {
		for j, pl := range row {
			if pl != nil {
				pl.Draw(canvases[i][j])
			}
		}
	}
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
