package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// RunAction runs an action on unit like `juju run`: params are validated
// against actions.yaml and defaulted first (a refusal is an error and
// nothing runs). The action's own failure is not an error: see
// ActionResult.Status. Changes other than results (relation-set, ports)
// commit only on exit 0; results are reported either way, as Juju does.
func (m *Model) RunAction(ctx context.Context, unitName, name string, params map[string]any) (ActionResult, error) {
	m.mu.Lock()
	params, err := m.actionParams(unitName, name, params)
	var hc *HookContext
	if err == nil {
		hc, err = m.newHookContext(unitName, Event{Action: name, ActionParams: params})
	}
	m.mu.Unlock()
	if err != nil {
		return ActionResult{}, err
	}
	res, err := m.dispatch(ctx, hc)
	if err != nil {
		hc.Discard()
		return ActionResult{}, fmt.Errorf("cannot run action %q on %s: %w", name, unitName, err)
	}
	var changes []RelationChange
	if res.ExitCode == 0 {
		changes = hc.Commit()
	} else {
		hc.Discard()
	}
	result := m.finishAction(hc, res)
	m.endHook(hc, hc.record(res), changes)
	errNotify := m.notify(ctx, changes)
	errRun := m.run(ctx)
	if errNotify != nil {
		return result, errNotify
	}
	return result, errRun
}

// actionParams validates params, then inserts the schema's defaults
// (what action-get returns); the lock is held.
func (m *Model) actionParams(unitName, name string, params map[string]any) (map[string]any, error) {
	spec, ok := m.ch.Actions().ActionSpecs[name]
	if !ok {
		return nil, fmt.Errorf("cannot run action %q on %s: not defined by the charm", name, unitName)
	}
	params = maps.Clone(params)
	if params == nil {
		params = map[string]any{}
	}
	if err := spec.ValidateParams(params); err != nil {
		return nil, fmt.Errorf("cannot run action %q on %s: %w", name, unitName, err)
	}
	out, err := spec.InsertDefaults(params)
	if err != nil {
		return nil, fmt.Errorf("cannot run action %q on %s: %w", name, unitName, err)
	}
	return out, nil
}

// finishAction builds the result the way the uniter finalises an action:
// failed by action-fail or a non-zero exit; return-code, stdout and
// stderr added (base64 when not UTF-8).
func (m *Model) finishAction(hc *HookContext, res Result) ActionResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	results := maps.Clone(hc.results)
	results["return-code"] = res.ExitCode
	addOutput(results, "stdout", res.Stdout)
	addOutput(results, "stderr", res.Stderr)
	r := &ActionResult{ID: hc.ev.ActionID, Unit: hc.unit, Name: hc.ev.Action, Params: hc.ev.ActionParams,
		Status: "completed", Results: results, Logs: slices.Clone(hc.actionLogs)}
	switch {
	case hc.failed:
		r.Status, r.Message = "failed", hc.failMsg
	case res.ExitCode != 0:
		r.Status, r.Message = "failed", fmt.Sprintf("exit status %d", res.ExitCode)
	}
	m.actions = append(m.actions, r)
	return *r
}

func addOutput(results map[string]any, key string, b []byte) {
	if len(b) == 0 {
		return
	}
	if utf8.Valid(b) {
		results[key] = string(b)
		return
	}
	results[key] = base64.StdEncoding.EncodeToString(b)
	results[key+"-encoding"] = "base64"
}

// Actions lists every action run so far, oldest first.
func (m *Model) Actions() []ActionResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ActionResult, len(m.actions))
	for i, a := range m.actions {
		out[i] = *a
	}
	return out
}
