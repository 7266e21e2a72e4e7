// Command ml-platform-history writes the reference ML platform's past
// month (the simulator's closed form, with a few incidents) as Prometheus
// TSDB blocks, so that a Prometheus started on them, scraping an
// ml-platform-sim that runs the same simulation, holds a continuous month
// of data. scripts/demo.sh runs it before Prometheus starts. See
// docs/simulator.md and internal/demo.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/demo"
	"github.com/slo-exporter/slo-exporter/internal/simulator"
)

func main() {
	app := kingpin.New("ml-platform-history", `Write the reference ML platform's past month as Prometheus TSDB blocks.

The history is what Prometheus would have scraped from ml-platform-sim over
--length before --end, every --step, with a few past incidents. It also
writes the whole schedule (those incidents, then --incidents.file's shifted
to start at --end) to --schedule.file and prints the simulation's start on
stdout. Run ml-platform-sim with --start.time=<that start> and
--incidents.file=<the schedule> so that its counters continue the history,
and Prometheus with a retention longer than --length.`)
	app.HelpFlag.Short('h')
	dataDir := app.Flag("storage.tsdb.path", "Prometheus data directory to write the blocks into.").Required().String()
	scheduleFile := app.Flag("schedule.file", "Where to write the simulation's whole schedule (ml-platform-sim --incidents.file).").Required().String()
	live := app.Flag("incidents.file", "Incidents after --end, offsets counted from --end (the demo's schedule).").String()
	length := app.Flag("length", "How much history.").Default("30d").String()
	step := app.Flag("step", "Interval between samples.").Default("15m").String()
	end := app.Flag("end", "End of the history as RFC 3339; default now.").String()
	instance := app.Flag("instance", "The instance label of the simulator's scrape (its address).").Default(demo.DefaultInstance).String()
	promtool := app.Flag("promtool", "The promtool program.").Default("promtool").String()
	kingpin.MustParse(app.Parse(os.Args[1:]))
	if err := run(*dataDir, *scheduleFile, *live, *length, *step, *end, *instance, *promtool); err != nil {
		fmt.Fprintln(os.Stderr, "ml-platform-history:", err)
		os.Exit(1)
	}
}

func run(dataDir, scheduleFile, live, length, step, end, instance, promtool string) error {
	o := demo.Options{End: time.Now(), Instance: instance}
	var err error
	if end != "" {
		if o.End, err = time.Parse(time.RFC3339, end); err != nil {
			return fmt.Errorf("--end %q: %v", end, err)
		}
	}
	d, err := model.ParseDuration(length)
	if err != nil || d <= 0 {
		return fmt.Errorf("--length %q: want a positive duration such as 30d", length)
	}
	o.Length = time.Duration(d)
	if d, err = model.ParseDuration(step); err != nil || d <= 0 {
		return fmt.Errorf("--step %q: want a positive duration such as 5m", step)
	}
	o.Step = time.Duration(d)
	var liveIncs []simulator.Incident
	if live != "" {
		if liveIncs, err = simulator.LoadFile(live); err != nil {
			return err
		}
	}
	o.Incidents = demo.Schedule(o.Length, liveIncs)
	f, err := os.Create(scheduleFile)
	if err != nil {
		return err
	}
	if err := demo.WriteSchedule(f, o.Incidents); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	series, err := demo.Series(o)
	if err != nil {
		return err
	}
	if err := demo.CreateBlocks(series, promtool, dataDir); err != nil {
		return err
	}
	fmt.Println(o.Start().UTC().Format(time.RFC3339))
	return nil
}
