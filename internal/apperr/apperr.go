// Package apperr is mlapi's error vocabulary: a machine-readable code plus a
// message safe to show a client. Every layer returns these for the outcomes a
// caller decides on; anything else is internal and its detail stays in the log.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error for the transport layer, which maps it one-to-one
// onto a GraphQL extensions.code.
type Code string

const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	Invalid         Code = "BAD_USER_INPUT"
	Conflict        Code = "CONFLICT"
	NotFound        Code = "NOT_FOUND"
	Unavailable     Code = "SERVICE_UNAVAILABLE"
	TooManyRequests Code = "TOO_MANY_REQUESTS"
	ModelRefused    Code = "MODEL_REFUSED" // by a reload: the model served before still is
	Internal        Code = "INTERNAL"
)

// Error is an application error: Message is written for the client and must
// never carry internal detail; Err, when set, is the cause kept for the log.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an application error without an underlying cause.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Wrap returns an application error that keeps cause for logging.
func Wrap(code Code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, Err: cause}
}

// CodeOf reports the code of the first application error in err's chain, or
// Internal when there is none.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf reports the client-safe message of err: the application error's
// message, or a generic one for anything internal.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// FieldProblem is what is wrong with one field of an input.
type FieldProblem struct {
	// Field is the input field's name, as the client sent it.
	Field   string
	Message string
}

// FieldsError names every offending field of an input, so that a form can
// show each message next to its field. Wrap it in an Error for its code.
type FieldsError struct {
	Problems []FieldProblem
}

func (e *FieldsError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}
