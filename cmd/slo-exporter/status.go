package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/status"
)

func init() { commands = append(commands, statusCommand) }

func statusCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("status", "Print a one-screen summary of a running slo-exporter's SLOs, read from its /metrics.")
	url := cmd.Flag("url", "The exporter's metrics URL.").Default("http://localhost:9099/metrics").String()
	window := cmd.Flag("window", "The short window to show as now.").Default("5m").String()
	timeout := cmd.Flag("timeout", "HTTP timeout.").Default("10s").Duration()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", *url, resp.Status)
		}
		rows, err := status.Parse(resp.Body, *window)
		if err != nil {
			return fmt.Errorf("%s: %w", *url, err)
		}
		return status.Write(stdout, rows)
	}
}
