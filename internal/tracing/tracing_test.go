package tracing

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func envOf(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		env  map[string]string
		want bool
		err  string
	}{
		{name: "nothing set", env: nil, want: false},
		{name: "an endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: true},
		{name: "a traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, want: true},
		{name: "the otlp exporter alone", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "the otlp exporter, spelt loosely", env: map[string]string{"OTEL_TRACES_EXPORTER": " OTLP "}, want: true},
		{name: "exporter none beats an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: false},
		{name: "the SDK disabled beats everything", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: false},
		{name: "the SDK disabled, in capitals", env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, want: false},
		{name: "the SDK not disabled", env: map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "only the metrics endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318"}, want: false},
		{name: "another exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "only otlp"},
		{name: "a misspelt switch", env: map[string]string{"OTEL_SDK_DISABLED": "yes"}, err: "want true or false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Enabled(envOf(c.env))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Enabled = %v, %v; want an error saying %q", got, err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Enabled = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, ProtocolHTTP},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, ProtocolGRPC},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ProtocolHTTP},
		// The traces' own setting wins over the general one.
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, ProtocolHTTP},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, ""},
	} {
		got, err := protocol(envOf(c.env))
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("protocol(%v) = %q, %v; want %q", c.env, got, err, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("off", func(t *testing.T) {
		tp, err := New(t.Context(), envOf(nil), logger)
		if tp != nil || err != nil {
			t.Fatalf("New with nothing set = %v, %v; want no provider", tp, err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		tp, err := New(t.Context(), envOf(map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}), logger)
		if tp != nil || err == nil {
			t.Fatalf("New with an unsupported protocol = %v, %v; want an error", tp, err)
		}
	})
	for _, proto := range []string{ProtocolHTTP, ProtocolGRPC} {
		t.Run(proto, func(t *testing.T) {
			// The exporter reads its endpoint itself: nothing listens there,
			// and nothing is sent, since no span is made.
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
			t.Setenv("OTEL_SERVICE_NAME", "")
			env := envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL": proto})
			tp, err := New(t.Context(), env, logger)
			if err != nil || tp == nil {
				t.Fatalf("New = %v, %v; want a provider", tp, err)
			}
			if err := tp.Shutdown(t.Context()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

func TestResourceNamesTheService(t *testing.T) {
	for _, c := range []struct{ env, want string }{
		{"", ServiceName},
		{"scoring-eu", "scoring-eu"},
	} {
		t.Setenv("OTEL_SERVICE_NAME", c.env)
		res, err := newResource(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, a := range res.Attributes() {
			if a.Key == "service.name" {
				got = a.Value.AsString()
			}
		}
		if got != c.want {
			t.Errorf("OTEL_SERVICE_NAME=%q: service.name %q, want %q", c.env, got, c.want)
		}
	}
}
