package registry

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/sirupsen/logrus"
)

// logSettings is a configuration's log section, checked but not applied.
// distribution logs through logrus's standard logger, so these are process
// globals, applied when a configuration is committed.
type logSettings struct {
	level        logrus.Level
	formatter    logrus.Formatter
	reportCaller bool
	fields       logrus.Fields
}

func newLogSettings(cfg *configuration.Configuration) (logSettings, error) {
	ls := logSettings{level: logrus.InfoLevel, reportCaller: cfg.Log.ReportCaller}
	if cfg.Log.Level != "" {
		l, err := logrus.ParseLevel(string(cfg.Log.Level))
		if err != nil {
			return ls, fmt.Errorf("cannot use log.level %q: %w", cfg.Log.Level, err)
		}
		ls.level = l
	}
	switch cfg.Log.Formatter {
	case "", "text":
		ls.formatter = &logrus.TextFormatter{TimestampFormat: time.RFC3339Nano}
	case "json":
		ls.formatter = &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano, DisableHTMLEscape: true}
	case "logstash":
		ls.formatter = &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano,
			FieldMap: logrus.FieldMap{logrus.FieldKeyFunc: "function"}}
	default:
		return ls, fmt.Errorf("cannot use log.formatter %q: want text, json or logstash", cfg.Log.Formatter)
	}
	ls.fields = logrus.Fields{}
	for k, v := range cfg.Log.Fields {
		ls.fields[k] = v
	}
	return ls, nil
}

func (ls logSettings) apply() {
	logrus.SetLevel(ls.level)
	logrus.SetFormatter(ls.formatter)
	logrus.SetReportCaller(ls.reportCaller)
	logFields.Store(&ls.fields)
}

// logFields are log.fields (e.g. service=registry), added to every entry by
// fieldsHook: upstream puts them in a context logger we cannot reach.
var logFields atomic.Pointer[logrus.Fields]

var installHookOnce sync.Once

func installFieldsHook() {
	installHookOnce.Do(func() { logrus.AddHook(fieldsHook{}) })
}

type fieldsHook struct{}

func (fieldsHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire runs on the entry's own copy of its data; fields set by the caller win.
func (fieldsHook) Fire(e *logrus.Entry) error {
	f := logFields.Load()
	if f == nil {
		return nil
	}
	for k, v := range *f {
		if _, ok := e.Data[k]; !ok {
			e.Data[k] = v
		}
	}
	return nil
}
