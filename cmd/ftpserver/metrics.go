package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ftpkit/ftpserver"
)

// metricsReadHeaderTimeout bounds how long a scraper may take to send its request headers.
const metricsReadHeaderTimeout = 10 * time.Second

// observer follows the server's events (ftpserver.MainDriverExtensionEvents): it logs one line
// per transfer and, with -metrics, counts what clients do for Prometheus. It only updates
// counters and writes a log line, so the sessions it is called from do not wait on it.
type observer struct {
	logger  log.Logger // lines at level info, whatever -debug says
	metrics *metrics   // nil without -metrics
}

// HandleEvent logs transfers and updates the metrics.
func (o *observer) HandleEvent(cc ftpserver.ClientContext, event ftpserver.Event) {
	if event.Kind == ftpserver.EventTransferEnded {
		_ = level.Info(o.logger).Log("msg", "transfer", "client", cc.ID(), "remote", cc.RemoteAddr(),
			"user", event.User, "cmd", event.Command, "path", event.Path, "direction", event.Direction,
			"bytes", event.Bytes, "duration", event.Duration, "err", event.Err)
	}

	if o.metrics != nil {
		o.metrics.count(event)
	}
}

// metrics are the Prometheus metrics of the bundled server, built from its events.
type metrics struct {
	registry    *prometheus.Registry
	connections prometheus.Gauge
	logins      *prometheus.CounterVec   // by result: success, failure
	transfers   *prometheus.CounterVec   // by command and result: ok, error
	bytes       *prometheus.CounterVec   // by direction: upload, download
	duration    *prometheus.HistogramVec // by command
}

// Label values of the metrics.
const (
	resultSuccess = "success"
	resultFailure = "failure"
	resultOK      = "ok"
	resultError   = "error"
)

// newMetrics registers the server's metrics, and the Go runtime's and the process's, in a
// registry of their own.
func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ftpserver_connections",
			Help: "Control connections open now.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpserver_logins_total",
			Help: "Logins, by result (success or failure).",
		}, []string{"result"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpserver_transfers_total",
			Help: "Transfers ended, by command (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) and result (ok or error).",
		}, []string{"command", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ftpserver_transfer_bytes_total",
			Help: "Bytes moved by data connections, by direction (upload, or download, listings included).",
		}, []string{"direction"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ftpserver_transfer_duration_seconds",
			Help:    "How long transfers took, from the 150 reply to the final one, by command.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1 ms to about 4 minutes
		}, []string{"command"}),
	}

	m.registry.MustRegister(m.connections, m.logins, m.transfers, m.bytes, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Present from the start, at 0, so that rates and alerts need no special case.
	for _, result := range []string{resultSuccess, resultFailure} {
		m.logins.WithLabelValues(result)
	}

	for _, direction := range []ftpserver.TransferDirection{ftpserver.TransferUpload, ftpserver.TransferDownload} {
		m.bytes.WithLabelValues(direction.String())
	}

	return m
}

// count updates the metrics for one event.
func (m *metrics) count(event ftpserver.Event) {
	switch event.Kind {
	case ftpserver.EventConnected:
		m.connections.Inc()
	case ftpserver.EventDisconnected:
		m.connections.Dec()
	case ftpserver.EventLoginSucceeded:
		m.logins.WithLabelValues(resultSuccess).Inc()
	case ftpserver.EventLoginFailed:
		m.logins.WithLabelValues(resultFailure).Inc()
	case ftpserver.EventTransferEnded:
		result := resultOK
		if event.Err != nil {
			result = resultError
		}

		m.transfers.WithLabelValues(event.Command, result).Inc()
		m.bytes.WithLabelValues(event.Direction.String()).Add(float64(event.Bytes))
		m.duration.WithLabelValues(event.Command).Observe(event.Duration.Seconds())
	}
}

// metricsServer serves /metrics over HTTP.
type metricsServer struct {
	server   *http.Server
	listener net.Listener
	served   chan error
}

// startMetricsServer listens on addr and serves m's registry at /metrics until stop.
func startMetricsServer(addr string, m *metrics) (*metricsServer, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))

	s := &metricsServer{
		server:   &http.Server{Handler: mux, ReadHeaderTimeout: metricsReadHeaderTimeout},
		listener: listener,
		served:   make(chan error, 1),
	}

	go func() { s.served <- s.server.Serve(listener) }()

	return s, nil
}

// URL is where the metrics are served.
func (s *metricsServer) URL() string {
	return "http://" + s.listener.Addr().String() + "/metrics"
}

// announce prints where the metrics are served, after the start lines; nothing without
// -metrics (s nil).
func (s *metricsServer) announce(stdout io.Writer) {
	if s != nil {
		fmt.Fprintf(stdout, "metrics on %s\n", s.URL())
	}
}

// close stops s, logging a failure; nothing without -metrics (s nil).
func (s *metricsServer) close(logger log.Logger) {
	if s == nil {
		return
	}

	if err := s.stop(); err != nil {
		_ = level.Warn(logger).Log("msg", "stopping the metrics server", "err", err)
	}
}

// stop closes the HTTP server, letting a scrape in progress finish for up to a second, and
// waits for it to end.
func (s *metricsServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	err := s.server.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.server.Close()
	}

	if serveErr := <-s.served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}

	if err != nil {
		return fmt.Errorf("stopping the metrics server: %w", err)
	}

	return nil
}
