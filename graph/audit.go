package graph

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mlapi/mlapi/graph/gqlmodel"
	"github.com/mlapi/mlapi/internal/audit"
)

// auditCost prices auditLog: it reads the whole log.
const auditCost = 1000

// WithAudit serves auditLog from s.
func WithAudit(s *audit.Service) ResolverOption {
	return func(r *Resolver) { r.audits = s }
}

// auditLog verifies the audit log for an administrator.
func (r *Resolver) auditLog(ctx context.Context) (*gqlmodel.AuditReport, error) {
	if _, err := r.accounts.RequireAdmin(ctx); err != nil {
		return nil, err
	}
	if r.audits == nil {
		return nil, errors.New("auditLog: no audit service configured")
	}
	checkedAt := time.Now().UTC()
	report, err := r.audits.Verify(ctx)
	if err != nil {
		return nil, err
	}
	out := &gqlmodel.AuditReport{
		Ok: report.OK(), KeyID: report.KeyID, Chains: report.Chains, Rows: int(report.Rows),
		PrunedRows: int(report.PrunedRows), Checkpoints: report.Checkpoints, UnchainedRows: int(report.UnchainedRows),
		Heads: make([]gqlmodel.AuditHead, len(report.Heads)), Problems: make([]gqlmodel.AuditProblem, len(report.Problems)),
		MoreProblems: report.MoreProblems, CheckedAt: checkedAt,
	}
	for i, h := range report.Heads {
		out.Heads[i] = gqlmodel.AuditHead{Chain: int(h.Chain), Seq: int(h.Seq), Hash: h.Hash.String()}
	}
	for i, p := range report.Problems {
		gp := gqlmodel.AuditProblem{Kind: gqlmodel.AuditProblemKind(strings.ToUpper(string(p.Kind))), Message: p.Detail}
		if p.Chain != 0 {
			chain, seq := int(p.Chain), int(p.Seq)
			gp.Chain, gp.Seq = &chain, &seq
		}
		if p.RequestID != 0 {
			id := encodeRowID(nodeRequest, p.RequestID)
			gp.RequestID = &id
		}
		if p.TraceID != "" {
			gp.TraceID = &p.TraceID
		}
		out.Problems[i] = gp
	}
	return out, nil
}
