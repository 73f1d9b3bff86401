// Package tracing builds the OpenTelemetry TracerProvider the server hands
// to what it traces, from the standard OTEL_* environment, or none at all:
// tracing is off unless the environment turns it on (Enabled), and off costs
// the request path nothing.
//
// The services never see this package or the SDK: each takes the API's
// trace.TracerProvider and creates its spans with it.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ServiceName names the service when OTEL_SERVICE_NAME (or service.name in
// OTEL_RESOURCE_ATTRIBUTES) does not.
const ServiceName = "mlapi"

// Enabled reports whether the environment turns tracing on:
//
//   - OTEL_SDK_DISABLED=true turns it off, whatever else is set;
//   - OTEL_TRACES_EXPORTER=otlp turns it on, =none off (any other exporter
//     is an error: only OTLP is built in);
//   - with OTEL_TRACES_EXPORTER unset, setting OTEL_EXPORTER_OTLP_ENDPOINT
//     or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turns it on.
//
// Anything else leaves it off: an exporter sending to localhost:4318 by
// default would make every server without a collector log export failures.
func Enabled(getenv func(string) string) (bool, error) {
	if disabled := strings.TrimSpace(getenv("OTEL_SDK_DISABLED")); disabled != "" {
		switch strings.ToLower(disabled) {
		case "true":
			return false, nil
		case "false":
		default:
			return false, fmt.Errorf("OTEL_SDK_DISABLED=%q: want true or false", disabled)
		}
	}
	switch exporter := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exporter {
	case "otlp":
		return true, nil
	case "none":
		return false, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", exporter)
	}
}

// Protocols OTLP is sent with (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// protocol is the OTLP protocol the environment asks for traces, HTTP
// unless it says otherwise, as the specification's default is.
func protocol(getenv func(string) string) (string, error) {
	p := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if p == "" {
		p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch p {
	case "", ProtocolHTTP:
		return ProtocolHTTP, nil
	case ProtocolGRPC:
		return ProtocolGRPC, nil
	default:
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want %s or %s", p, ProtocolHTTP, ProtocolGRPC)
	}
}

// New returns the provider the environment configures, or nil when it
// leaves tracing off (Enabled). getenv decides whether and how; the SDK and
// the exporter read the rest of the OTEL_* variables themselves (endpoint,
// headers, timeout, sampler, batching, resource attributes). Spans are sent
// in batches, in the background; Shutdown sends what is left. The SDK's
// errors (an export that failed) go to logger: the SDK reports them only
// through its process-wide handler, which New therefore sets.
func New(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*sdktrace.TracerProvider, error) {
	on, err := Enabled(getenv)
	if err != nil || !on {
		return nil, err
	}
	proto, err := protocol(getenv)
	if err != nil {
		return nil, err
	}
	var exporter sdktrace.SpanExporter
	switch proto {
	case ProtocolGRPC:
		exporter, err = otlptracegrpc.New(ctx)
	default:
		exporter, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: the OTLP exporter (%s): %w", proto, err)
	}
	res, err := newResource(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tracing: %w", err), exporter.Shutdown(ctx))
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing", "err", err)
	}))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// newResource describes the process: service.name mlapi unless the
// environment names it (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, which
// win), and the SDK's own attributes.
func newResource(ctx context.Context) (*resource.Resource, error) {
	fromEnv, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("the resource from OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// Merge keeps the second's value of an attribute both hold.
	return resource.Merge(resource.NewSchemaless(semconv.ServiceName(ServiceName)), fromEnv)
}
