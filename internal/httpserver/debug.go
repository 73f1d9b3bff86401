package httpserver

import (
	"net/http"
	"net/http/pprof"
)

// DebugHandler serves Go's profiles (/debug/pprof/): CPU, heap,
// goroutines, mutex and block contention, and the execution trace. They
// show the process's inside, stacks and all, and a CPU profile or trace
// costs CPU while it runs, so they are served on a listener of their own,
// never beside the API.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
