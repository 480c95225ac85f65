package sim

import "slices"

// toolSpecs lists every hook tool the simulator implements with the
// options it accepts (juju-contract §3.2).
var toolSpecs map[string]toolSpec

func init() {
	format := formatFlag()
	toolSpecs = map[string]toolSpec{
		"config-get":    {[]flagDef{{short: "a", long: "all", isBool: true}, format, flagOutput}, configGet},
		"relation-ids":  {[]flagDef{format, flagOutput}, relationIDs},
		"relation-list": {[]flagDef{flagRelation, flagApp, format, flagOutput}, relationList},
		"relation-get":  {[]flagDef{flagRelation, flagApp, format, flagOutput}, relationGet},
		// --format is deprecated on relation-set and ignored.
		"relation-set": {[]flagDef{flagRelation, flagApp, {long: "file"}, {long: "format"}}, relationSet},
		"status-set":   {[]flagDef{{long: "application", isBool: true}}, statusSet},
		"status-get": {[]flagDef{{long: "include-data", isBool: true},
			{long: "application", isBool: true}, format, flagOutput}, statusGet},
		"application-version-set": {nil, applicationVersionSet},
		"juju-log": {[]flagDef{{short: "l", long: "log-level"}, {long: "debug", isBool: true},
			{long: "format"}}, jujuLog},
		"open-port":    {[]flagDef{{long: "endpoints"}, {long: "format"}}, openPort},
		"close-port":   {[]flagDef{{long: "endpoints"}, {long: "format"}}, closePort},
		"opened-ports": {[]flagDef{{long: "endpoints", isBool: true}, format, flagOutput}, openedPorts},
		"network-get": {[]flagDef{flagRelation, format, flagOutput,
			{long: "ingress-address", isBool: true}, {long: "bind-address", isBool: true},
			{long: "egress-subnets", isBool: true}, {long: "primary-address", isBool: true}}, networkGet},
		"unit-get":     {[]flagDef{format, flagOutput}, unitGet},
		"is-leader":    {[]flagDef{format, flagOutput}, isLeader},
		"leader-get":   {[]flagDef{format, flagOutput}, leaderGet},
		"leader-set":   {nil, leaderSet},
		"action-get":   {[]flagDef{format, flagOutput}, actionGet},
		"action-set":   {nil, actionSet},
		"action-fail":  {nil, actionFail},
		"action-log":   {nil, actionLog},
		"storage-get":  {[]flagDef{{short: "s"}, format, flagOutput}, storageGet},
		"storage-list": {[]flagDef{format, flagOutput}, storageList},
		"goal-state":   {[]flagDef{formatFlag("yaml", "json"), flagOutput}, goalState},
		"state-get":    {[]flagDef{{long: "strict", isBool: true}, format, flagOutput}, stateGet},
		"state-set":    {[]flagDef{{long: "file"}}, stateSet},
		"state-delete": {nil, stateDelete},
		"secret-get": {[]flagDef{formatFlag("yaml", "json"), flagOutput, {long: "label"},
			{long: "peek", isBool: true}, {long: "refresh", isBool: true}}, secretGet},
	}
}

// ToolNames lists the hook tools the simulator implements.
func ToolNames() []string {
	names := make([]string, 0, len(toolSpecs))
	for n := range toolSpecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
