package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pruvan-share/share-operator/accountserver"
	"github.com/pruvan-share/share-operator/protocol"
)

// show prints v as JSON with -o json, else with text.
func (g *globals) show(v any, text func(w io.Writer)) error {
	if err := g.checkOutput(); err != nil {
		return err
	}
	if g.output == outputJSON {
		b, err := marshalIndented(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// run wraps a command that talks to the admin API.
func (g *globals) run(f func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := g.checkOutput(); err != nil {
			return err
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		return f(cmd, c, args)
	}
}

func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	cmd.AddCommand(subs...)
	return cmd
}

func ts(t time.Time) string { return t.Local().Format(time.DateTime) }

func tsp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- accounts ----

func newAccountCmd(g *globals) *cobra.Command {
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an account; prints its web-service token and endpoint URL",
		Example: "  accountserver account create acme",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			a, err := c.CreateAccount(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(a, func(w io.Writer) { printAccount(w, a) })
		}),
	}
	show := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show an account",
		Example: "  accountserver account show acme",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			a, err := c.Account(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(a, func(w io.Writer) { printAccount(w, a) })
		}),
	}
	list := listAccountsCmd(g, "list")
	return group("account", "Create and show accounts", create, show, list)
}

func printAccount(w io.Writer, a accountserver.Account) {
	fmt.Fprintf(w, "account:\t%s\n", a.Name)
	fmt.Fprintf(w, "token:\t%s\n", a.Token)
	fmt.Fprintf(w, "url:\t%s\n", dash(a.BaseURL))
}

func listAccountsCmd(g *globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   "List accounts",
		Example: "  accountserver account list",
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			as, err := c.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			return g.show(as, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tTOKEN\tURL\tCREATED")
				for _, a := range as {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.Name, a.Token, dash(a.BaseURL), ts(a.CreatedAt))
				}
			})
		}),
	}
}

// ---- users ----

func newUserCmd(g *globals) *cobra.Command {
	var role, password, digest string
	var passwordStdin bool
	create := &cobra.Command{
		Use:     "create ACCOUNT USERNAME",
		Short:   "Create a sub-user (roles: Admin, Staff, Crew, Restricted Crew, Subcontractor)",
		Example: "  accountserver user create acme vendor1 --role Crew --password s3cret",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			if passwordStdin {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 4096))
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(b), "\r\n")
			}
			u, err := c.CreateUser(cmd.Context(), args[0], accountserver.NewUser{
				Username: args[1], Role: accountserver.Role(role), Password: password, PasswordDigest: digest,
			})
			if err != nil {
				return err
			}
			return g.show(u, func(w io.Writer) {
				fmt.Fprintf(w, "account:\t%s\nusername:\t%s\nrole:\t%s\n", u.Account, u.Username, u.Role)
			})
		}),
	}
	f := create.Flags()
	f.StringVar(&role, "role", string(accountserver.RoleCrew), "role of the sub-user")
	f.StringVar(&password, "password", "", "password (the server stores only a hash of its SHA-1 digest)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.StringVar(&digest, "password-digest", "", "SHA-1 hex digest of the password, instead of --password")
	return group("user", "Create and list sub-users", create, listUsersCmd(g, "list ACCOUNT"))
}

func listUsersCmd(g *globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   "List the sub-users of an account",
		Example: "  accountserver user list acme",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			us, err := c.ListUsers(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(us, func(w io.Writer) {
				fmt.Fprintln(w, "USERNAME\tROLE\tCREATED")
				for _, u := range us {
					fmt.Fprintf(w, "%s\t%s\t%s\n", u.Username, u.Role, ts(u.CreatedAt))
				}
			})
		}),
	}
}

// ---- work types ----

func newWorkTypeCmd(g *globals) *cobra.Command {
	var fromFile string
	var options, tasks, taskOptions, fields []string
	var reference, description string
	create := &cobra.Command{
		Use:   "create ACCOUNT NAME",
		Short: "Create or replace a work type",
		Long: `Create or replace a work type: a template of project fields, tasks and
options. Applying it to a project always sets reference, description and
options; fills the --field values only where the project leaves them blank;
adds the tasks the project lacks.`,
		Example: `  accountserver worktype create fieldco "Grass Cut" --reference GC --description "Initial grass cut" \
    --option check_in_required=true --option check_in_provider=stdc \
    --task "Before Photos" --task "After Photos:Take 4 angles" --task-option "After Photos:min_photos=4" \
    --field dueDate=2030-01-31 --field assignedTo=tech1
  accountserver worktype create fieldco "Grass Cut" --from-file grasscut.json`,
		Args: cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			var wt accountserver.WorkType
			if fromFile != "" {
				if err := readJSONFile(fromFile, &wt); err != nil {
					return err
				}
			}
			wt.Name = args[1]
			fl := cmd.Flags()
			if fl.Changed("reference") {
				wt.Reference = &reference
			}
			if fl.Changed("description") {
				wt.Description = &description
			}
			opts, err := keyValues(options)
			if err != nil {
				return err
			}
			if len(opts) > 0 {
				if wt.Options == nil {
					wt.Options = protocol.Options{}
				}
				for k, v := range opts {
					wt.Options[k] = v
				}
			}
			for _, t := range tasks {
				name, instr, hasInstr := strings.Cut(t, ":")
				s := protocol.Service{ServiceName: name}
				if hasInstr {
					s.Instructions = protocol.String(instr)
				}
				wt.Services = append(wt.Services, s)
			}
			for _, to := range taskOptions {
				task, kv, ok := strings.Cut(to, ":")
				k, v, ok2 := strings.Cut(kv, "=")
				if !ok || !ok2 {
					return fmt.Errorf("--task-option %q: want TASK:KEY=VALUE", to)
				}
				found := false
				for i := range wt.Services {
					if wt.Services[i].ServiceName == task {
						if wt.Services[i].Options == nil {
							wt.Services[i].Options = protocol.Options{}
						}
						wt.Services[i].Options[k] = v
						found = true
					}
				}
				if !found {
					return fmt.Errorf("--task-option %q: no --task %q", to, task)
				}
			}
			fv, err := keyValues(fields)
			if err != nil {
				return err
			}
			for k, v := range fv {
				if err := setWorkTypeField(&wt, k, v); err != nil {
					return err
				}
			}
			if err := c.PutWorkType(cmd.Context(), args[0], wt); err != nil {
				return err
			}
			return g.show(wt, func(w io.Writer) {
				fmt.Fprintf(w, "work type:\t%s\ntasks:\t%d\noptions:\t%d\n", wt.Name, len(wt.Services), len(wt.Options))
			})
		}),
	}
	f := create.Flags()
	f.StringVar(&fromFile, "from-file", "", "read the work type from a JSON file (flags override it)")
	f.StringVar(&reference, "reference", "", "reference (always set on projects)")
	f.StringVar(&description, "description", "", "description (always set on projects)")
	f.StringArrayVar(&options, "option", nil, "project option KEY=VALUE (repeatable)")
	f.StringArrayVar(&tasks, "task", nil, "task NAME or NAME:INSTRUCTIONS (repeatable)")
	f.StringArrayVar(&taskOptions, "task-option", nil, "task option TASK:KEY=VALUE (repeatable)")
	f.StringArrayVar(&fields, "field", nil, "default field NAME=VALUE, filled where blank: "+strings.Join(workTypeFieldNames, ", ")+" (repeatable)")
	list := &cobra.Command{
		Use:     "list ACCOUNT",
		Short:   "List the work types of an account",
		Example: "  accountserver worktype list fieldco",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			wts, err := c.ListWorkTypes(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(wts, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tTASKS\tOPTIONS\tREFERENCE")
				for _, wt := range wts {
					fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", wt.Name, len(wt.Services), len(wt.Options), dash(protocol.Value(wt.Reference)))
				}
			})
		}),
	}
	return group("worktype", "Create and list work types", create, list)
}

var workTypeFieldNames = []string{"workOrderInfo", "instructions", "clientInstructions", "address1", "address2",
	"city", "state", "zip", "country", "dueDate", "startDate", "status", "assignedTo"}

func setWorkTypeField(wt *accountserver.WorkType, name, v string) error {
	p := map[string]**string{
		"workOrderInfo": &wt.WorkOrderInfo, "instructions": &wt.Instructions, "clientInstructions": &wt.ClientInstructions,
		"address1": &wt.Address1, "address2": &wt.Address2, "city": &wt.City, "state": &wt.State, "zip": &wt.Zip,
		"country": &wt.Country, "dueDate": &wt.DueDate, "startDate": &wt.StartDate, "status": &wt.Status,
		"assignedTo": &wt.AssignedTo,
	}[name]
	if p == nil {
		return fmt.Errorf("--field %s: unknown field (want one of %s)", name, strings.Join(workTypeFieldNames, ", "))
	}
	*p = protocol.String(v)
	return nil
}

// ---- integrations ----

func newIntegrationCmd(g *globals) *cobra.Command {
	var code string
	var autoRelay, recreate bool
	create := &cobra.Command{
		Use:   "create ACCOUNT --code CODE",
		Short: "Create an integration; prints its push key, push URL and the account token",
		Long: `Create an integration (a link) of a vendor account: its client code names the
projects it imports (CODE::number). Prints the new push key. --recreate makes
a new push key for an existing integration (the old key stops working).`,
		Example: "  accountserver integration create fieldco --code ACME --auto-relay",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			in, err := c.CreateIntegration(cmd.Context(), args[0], accountserver.NewIntegration{Code: code, AutoRelay: autoRelay, Recreate: recreate})
			if err != nil {
				return err
			}
			return g.show(in, func(w io.Writer) { printIntegration(w, in) })
		}),
	}
	create.Flags().StringVar(&code, "code", "", "client code, e.g. ACME (required)")
	create.Flags().BoolVar(&autoRelay, "auto-relay", false, "QA Auto Relay: items relay on arrival (else staff publish them)")
	create.Flags().BoolVar(&recreate, "recreate", false, "make a new push key for an existing integration")
	mustMarkRequired(create, "code")

	set := &cobra.Command{
		Use:     "set ACCOUNT CODE --auto-relay=true|false",
		Short:   "Change an integration's QA setting",
		Example: "  accountserver integration set fieldco ACME --auto-relay=false",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			if !cmd.Flags().Changed("auto-relay") {
				return fmt.Errorf("nothing to set: pass --auto-relay=true or --auto-relay=false")
			}
			in, err := c.SetAutoRelay(cmd.Context(), args[0], args[1], autoRelay)
			if err != nil {
				return err
			}
			return g.show(in, func(w io.Writer) { printIntegration(w, in) })
		}),
	}
	set.Flags().BoolVar(&autoRelay, "auto-relay", false, "QA Auto Relay on or off")

	show := &cobra.Command{
		Use:     "show ACCOUNT CODE",
		Short:   "Show an integration",
		Example: "  accountserver integration show fieldco ACME",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			in, err := c.Integration(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(in, func(w io.Writer) { printIntegration(w, in) })
		}),
	}
	return group("integration", "Create, change and show integrations (client code, push key, QA)", create, set, show,
		listIntegrationsCmd(g, "list ACCOUNT"))
}

func printIntegration(w io.Writer, in accountserver.Integration) {
	fmt.Fprintf(w, "account:\t%s\n", in.Account)
	fmt.Fprintf(w, "code:\t%s\n", in.Code)
	fmt.Fprintf(w, "push key:\t%s\n", in.PushKey)
	fmt.Fprintf(w, "push url:\t%s\n", dash(in.PushURL))
	fmt.Fprintf(w, "auto relay:\t%t\n", in.AutoRelay)
	fmt.Fprintf(w, "account token:\t%s\n", in.AccountToken)
	fmt.Fprintf(w, "triggers:\t%d (last %s)\n", in.Triggers, tsp(in.LastTriggeredAt))
	fmt.Fprintf(w, "pushes:\t%d (last %s)\n", in.Pushes, tsp(in.LastPushAt))
}

func listIntegrationsCmd(g *globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   "List the integrations of an account",
		Example: "  accountserver integration list fieldco",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			ins, err := c.ListIntegrations(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(ins, func(w io.Writer) {
				fmt.Fprintln(w, "CODE\tAUTO RELAY\tTRIGGERS\tPUSHES\tPUSH KEY")
				for _, in := range ins {
					fmt.Fprintf(w, "%s\t%t\t%d\t%d\t%s\n", in.Code, in.AutoRelay, in.Triggers, in.Pushes, in.PushKey)
				}
			})
		}),
	}
}

// ---- orders ----

// orderFlags are the flags of order create and order edit: one per field of
// a work order. Only the flags given are sent, so an edit changes exactly
// those fields.
type orderFlags struct {
	fromFile string
	strs     map[string]*string
	services []string
	options  []string
	attrs    []string
}

var orderStringFields = []struct {
	flag, json string
	ptr        func(*protocol.WorkOrder) **string
}{
	{"work-order-info", "workOrderInfo", func(w *protocol.WorkOrder) **string { return &w.WorkOrderInfo }},
	{"address1", "address1", func(w *protocol.WorkOrder) **string { return &w.Address1 }},
	{"address2", "address2", func(w *protocol.WorkOrder) **string { return &w.Address2 }},
	{"city", "city", func(w *protocol.WorkOrder) **string { return &w.City }},
	{"state", "state", func(w *protocol.WorkOrder) **string { return &w.State }},
	{"zip", "zip", func(w *protocol.WorkOrder) **string { return &w.Zip }},
	{"country", "country", func(w *protocol.WorkOrder) **string { return &w.Country }},
	{"assigned-to", "assignedTo", func(w *protocol.WorkOrder) **string { return &w.AssignedTo }},
	{"status", "status", func(w *protocol.WorkOrder) **string { return &w.Status }},
	{"due-date", "dueDate", func(w *protocol.WorkOrder) **string { return &w.DueDate }},
	{"instructions", "instructions", func(w *protocol.WorkOrder) **string { return &w.Instructions }},
	{"description", "description", func(w *protocol.WorkOrder) **string { return &w.Description }},
	{"reference", "reference", func(w *protocol.WorkOrder) **string { return &w.Reference }},
	{"start-date", "startDate", func(w *protocol.WorkOrder) **string { return &w.StartDate }},
	{"client-status", "clientStatus", func(w *protocol.WorkOrder) **string { return &w.ClientStatus }},
	{"client-due-date", "clientDueDate", func(w *protocol.WorkOrder) **string { return &w.ClientDueDate }},
	{"client-instructions", "clientInstructions", func(w *protocol.WorkOrder) **string { return &w.ClientInstructions }},
	{"work-type", "workType", func(w *protocol.WorkOrder) **string { return &w.WorkType }},
	{"source-wo-number", "source_wo_number", func(w *protocol.WorkOrder) **string { return &w.SourceWONumber }},
	{"source-wo-id", "source_wo_id", func(w *protocol.WorkOrder) **string { return &w.SourceWOID }},
	{"source-wo-provider", "source_wo_provider", func(w *protocol.WorkOrder) **string { return &w.SourceWOProvider }},
}

func (o *orderFlags) register(f *pflag.FlagSet) {
	o.strs = map[string]*string{}
	for _, sf := range orderStringFields {
		o.strs[sf.flag] = f.String(sf.flag, "", sf.json)
	}
	f.StringVar(&o.fromFile, "from-file", "", "read the order from a JSON file (flags override it)")
	f.StringArrayVar(&o.services, "service", nil, "task NAME or NAME:INSTRUCTIONS (repeatable; replaces the task list)")
	f.StringArrayVar(&o.options, "option", nil, "project option KEY=VALUE (repeatable; replaces the options)")
	f.StringArrayVar(&o.attrs, "attr", nil, "other attribute KEY=JSON, e.g. --attr 'lotSize=\"0.25 ac\"' (repeatable)")
}

func (o *orderFlags) build(f *pflag.FlagSet, number string) (protocol.WorkOrder, error) {
	var wo protocol.WorkOrder
	if o.fromFile != "" {
		if err := readJSONFile(o.fromFile, &wo); err != nil {
			return wo, err
		}
	}
	if number != "" {
		wo.WorkOrderNumber = number
	}
	for _, sf := range orderStringFields {
		if f.Changed(sf.flag) {
			*sf.ptr(&wo) = protocol.String(*o.strs[sf.flag])
		}
	}
	if len(o.services) > 0 {
		wo.Services = nil
		for _, s := range o.services {
			name, instr, ok := strings.Cut(s, ":")
			svc := protocol.Service{ServiceName: name}
			if ok {
				svc.Instructions = protocol.String(instr)
			}
			wo.Services = append(wo.Services, svc)
		}
	}
	opts, err := keyValues(o.options)
	if err != nil {
		return wo, err
	}
	if len(opts) > 0 {
		wo.Options = opts
	}
	for _, a := range o.attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || !json.Valid([]byte(v)) {
			return wo, fmt.Errorf("--attr %q: want KEY=JSON", a)
		}
		if wo.Extra == nil {
			wo.Extra = map[string]json.RawMessage{}
		}
		wo.Extra[k] = json.RawMessage(v)
	}
	return wo, nil
}

func newOrderCmd(g *globals) *cobra.Command {
	var cf, ef orderFlags
	create := &cobra.Command{
		Use:   "create ACCOUNT NUMBER",
		Short: "Create a project as office staff",
		Long: `Create a project named NUMBER. The documented minimum: --address1, --city,
--state, --zip and one --service. --work-type applies a work type; status
defaults to Unassigned (Assigned with --assigned-to), dueDate to today.`,
		Example: `  accountserver order create acme 1001 --address1 "1 Main St" --city Springfield --state IL --zip 62701 \
    --service "Lawn Cut" --service "Debris Removal:Haul to the curb" --assigned-to vendor1 --due-date 2030-01-31`,
		Args: cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			wo, err := cf.build(cmd.Flags(), args[1])
			if err != nil {
				return err
			}
			o, err := c.CreateOrder(cmd.Context(), args[0], wo)
			if err != nil {
				return err
			}
			return g.show(o, func(w io.Writer) { printOrder(w, o) })
		}),
	}
	cf.register(create.Flags())

	edit := &cobra.Command{
		Use:   "edit ACCOUNT NAME",
		Short: "Change exactly the fields given on a project",
		Example: `  accountserver order edit acme 1001 --instructions "Gate code 1234" --due-date 2030-02-15
  accountserver order edit fieldco ACME::1001 --status Rush`,
		Args: cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			wo, err := ef.build(cmd.Flags(), "")
			if err != nil {
				return err
			}
			o, err := c.EditOrder(cmd.Context(), args[0], args[1], wo)
			if err != nil {
				return err
			}
			return g.show(o, func(w io.Writer) { printOrder(w, o) })
		}),
	}
	ef.register(edit.Flags())

	assign := &cobra.Command{
		Use:     "assign ACCOUNT NAME USER",
		Short:   "Assign a project to a sub-user (or ~all~)",
		Example: "  accountserver order assign acme 1001 vendor1",
		Args:    cobra.ExactArgs(3),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			o, err := c.AssignOrder(cmd.Context(), args[0], args[1], args[2])
			if err != nil {
				return err
			}
			return g.show(o, func(w io.Writer) { printOrder(w, o) })
		}),
	}
	unassign := &cobra.Command{
		Use:     "unassign ACCOUNT NAME",
		Short:   "Unassign a project (its former assignee's pulls answer Cancelled)",
		Example: "  accountserver order unassign acme 1001",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			o, err := c.UnassignOrder(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(o, func(w io.Writer) { printOrder(w, o) })
		}),
	}
	del := &cobra.Command{
		Use:     "delete ACCOUNT NAME",
		Short:   "Delete a project (its assignee's pulls answer Deleted)",
		Example: "  accountserver order delete acme 1001",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			if err := c.DeleteOrder(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			return g.show(map[string]string{"deleted": args[1]}, func(w io.Writer) { fmt.Fprintf(w, "deleted:\t%s\n", args[1]) })
		}),
	}
	show := &cobra.Command{
		Use:     "show ACCOUNT NAME",
		Short:   "Show a project with its work order as pulls return it",
		Example: "  accountserver order show fieldco ACME::1001",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			o, err := c.GetOrder(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(o, func(w io.Writer) {
				printOrder(w, o)
				b, _ := marshalIndented(o.WorkOrder)
				fmt.Fprintf(w, "work order:\n%s\n", b)
			})
		}),
	}
	return group("order", "Act as office staff on projects: create, edit, assign, unassign, delete, show",
		create, edit, assign, unassign, del, show, listOrdersCmd(g, "list ACCOUNT"))
}

func printOrder(w io.Writer, o accountserver.Order) {
	fmt.Fprintf(w, "project:\t%s\n", o.Name)
	if o.Integration != "" {
		fmt.Fprintf(w, "integration:\t%s (number %s)\n", o.Integration, o.RemoteNumber)
	}
	fmt.Fprintf(w, "assigned to:\t%s\n", dash(o.AssignedTo))
	fmt.Fprintf(w, "status:\t%s\n", o.Status)
	fmt.Fprintf(w, "client status:\t%s\n", dash(o.ClientStatus))
	fmt.Fprintf(w, "due date:\t%s\n", dash(protocol.Value(o.WorkOrder.DueDate)))
	fmt.Fprintf(w, "tasks:\t%d\n", len(o.WorkOrder.Services))
	if o.Deleted {
		fmt.Fprintf(w, "deleted:\t%s\n", tsp(o.DeletedAt))
	}
	fmt.Fprintf(w, "updated:\t%s (seq %d)\n", ts(o.UpdatedAt), o.Seq)
}

func listOrdersCmd(g *globals, use string) *cobra.Command {
	var opt accountserver.ListOrdersOptions
	cmd := &cobra.Command{
		Use:     use,
		Short:   "List the projects of an account",
		Example: "  accountserver order list fieldco --integration ACME",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			orders, err := c.ListOrders(cmd.Context(), args[0], opt)
			if err != nil {
				return err
			}
			return g.show(orders, func(w io.Writer) {
				fmt.Fprintln(w, "PROJECT\tASSIGNED TO\tSTATUS\tCLIENT STATUS\tDUE\tTASKS\tUPDATED")
				for _, o := range orders {
					name := o.Name
					if o.Deleted {
						name += " (deleted)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", name, dash(o.AssignedTo), o.Status, dash(o.ClientStatus),
						dash(protocol.Value(o.WorkOrder.DueDate)), len(o.WorkOrder.Services), ts(o.UpdatedAt))
				}
			})
		}),
	}
	cmd.Flags().BoolVar(&opt.IncludeDeleted, "deleted", false, "include deleted projects")
	cmd.Flags().StringVar(&opt.Integration, "integration", "", "only the projects of this client code")
	cmd.Flags().StringVar(&opt.AssignedTo, "assigned-to", "", "only the projects of this assignee")
	return cmd
}

// ---- items ----

func newItemsCmd(g *globals) *cobra.Command {
	publish := &cobra.Command{
		Use:     "publish ACCOUNT PROJECT",
		Short:   "Publish a project's items held by QA (and retry failed relays)",
		Example: `  accountserver items publish fieldco ACME::1001`,
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			n, err := c.PublishItems(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return g.show(accountserver.PublishResult{Project: args[1], Released: n}, func(w io.Writer) {
				fmt.Fprintf(w, "project:\t%s\nreleased:\t%d\n", args[1], n)
			})
		}),
	}
	return group("items", "Act as office staff on items: publish, list", publish, listItemsCmd(g, "list ACCOUNT"))
}

func listItemsCmd(g *globals, use string) *cobra.Command {
	var project string
	cmd := &cobra.Command{
		Use:     use,
		Short:   "List the items of an account (photos, check-ins) with their relay status",
		Example: "  accountserver items list fieldco --project ACME::1001",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			its, err := c.ListItems(cmd.Context(), args[0], project)
			if err != nil {
				return err
			}
			return g.show(its, func(w io.Writer) {
				fmt.Fprintln(w, "UUID\tPROJECT\tTYPE\tBY\tSIZE\tRELAY\tMESSAGE")
				for _, it := range its {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", it.UUID, it.Project, it.FileType, it.UploadedBy, it.Size,
						it.RelayStatus, dash(it.RelayMessage))
				}
			})
		}),
	}
	cmd.Flags().StringVar(&project, "project", "", "only the items of this project")
	return cmd
}

// ---- field crew ----

type crewFlags struct {
	user, uuid, task, evidence, gps, notes string
}

func (c *crewFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.user, "user", "", "sub-user who acts (default: the project's assignee)")
	f.StringVar(&c.uuid, "uuid", "", "item uuid (default: a new one)")
	f.StringVar(&c.task, "task", "", "task (service) name")
	f.StringVar(&c.gps, "gps", "", "LAT,LON[,ACCURACY]")
	f.StringVar(&c.notes, "notes", "", "notes")
}

func (c *crewFlags) item() (protocol.Item, error) {
	it := protocol.Item{UUID: c.uuid, ServiceName: c.task, EvidenceType: c.evidence, Notes: c.notes}
	if c.gps != "" {
		parts := strings.Split(c.gps, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return it, fmt.Errorf("--gps %q: want LAT,LON[,ACCURACY]", c.gps)
		}
		var v [3]float64
		for i, p := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return it, fmt.Errorf("--gps %q: %w", c.gps, err)
			}
			v[i] = f
		}
		it.GPSLatitude, it.GPSLongitude, it.GPSAccuracy = v[0], v[1], v[2]
		it.GPSTimestamp = time.Now().Unix()
	}
	return it, nil
}

func newCrewCmd(g *globals) *cobra.Command {
	var up crewFlags
	var file, fileType string
	upload := &cobra.Command{
		Use:   "upload-photo ACCOUNT PROJECT --file PATH",
		Short: "Upload a photo to a project as a field crew member",
		Example: `  accountserver crew upload-photo fieldco ACME::1001 --file before.jpg --task "Lawn Cut" --evidence before \
    --gps 39.7817,-89.6501,5 --user tech1`,
		Args: cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			it, err := up.item()
			if err != nil {
				return err
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			it.Size = st.Size()
			it.FileType = fileType
			base := st.Name()
			it.FileName = base
			if i := strings.LastIndexByte(base, '.'); i > 0 {
				it.FileExt = base[i+1:]
			}
			it.Timestamp = st.ModTime().Unix()
			out, err := c.UploadItem(cmd.Context(), args[0], args[1], up.user, it, f)
			if err != nil {
				return err
			}
			return g.show(out, func(w io.Writer) { printItem(w, out) })
		}),
	}
	up.register(upload.Flags())
	upload.Flags().StringVar(&up.evidence, "evidence", "", "evidence type: before, during or after")
	upload.Flags().StringVar(&file, "file", "", "the photo (required)")
	upload.Flags().StringVar(&fileType, "file-type", protocol.FileTypePicture, "file type")
	mustMarkRequired(upload, "file")

	var ci crewFlags
	var id string
	checkIn := &cobra.Command{
		Use:     "check-in ACCOUNT PROJECT",
		Short:   "Check in at a project as a field crew member",
		Example: `  accountserver crew check-in fieldco ACME::1001 --user tech1 --id 4711 --gps 39.7817,-89.6501`,
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			it, err := ci.item()
			if err != nil {
				return err
			}
			it.CheckInID = id
			out, err := c.CheckIn(cmd.Context(), args[0], args[1], ci.user, it)
			if err != nil {
				return err
			}
			return g.show(out, func(w io.Writer) { printItem(w, out) })
		}),
	}
	ci.register(checkIn.Flags())
	checkIn.Flags().StringVar(&id, "id", "", "the ID number given at check-in")
	return group("crew", "Act as a field crew: upload photos, check in", upload, checkIn)
}

func printItem(w io.Writer, it accountserver.Item) {
	fmt.Fprintf(w, "uuid:\t%s\n", it.UUID)
	fmt.Fprintf(w, "project:\t%s\n", it.Project)
	fmt.Fprintf(w, "type:\t%s\n", it.FileType)
	fmt.Fprintf(w, "by:\t%s\n", it.UploadedBy)
	fmt.Fprintf(w, "size:\t%d\n", it.Size)
	fmt.Fprintf(w, "relay status:\t%s\n", it.RelayStatus)
}

// ---- list ----

func newListCmd(g *globals) *cobra.Command {
	return group("list", "List what the server or an account holds",
		listAccountsCmd(g, "accounts"),
		listUsersCmd(g, "users ACCOUNT"),
		listWorkTypesAlias(g),
		listIntegrationsCmd(g, "integrations ACCOUNT"),
		listOrdersCmd(g, "orders ACCOUNT"),
		listItemsCmd(g, "items ACCOUNT"),
		listHooksCmd(g, "hooks ACCOUNT"),
	)
}

func listWorkTypesAlias(g *globals) *cobra.Command {
	cmd := newWorkTypeCmd(g)
	for _, c := range cmd.Commands() {
		if c.Name() == "list" {
			cmd.RemoveCommand(c)
			c.Use = "worktypes ACCOUNT"
			return c
		}
	}
	panic("worktype list missing")
}

// ---- event hooks ----

func newHookCmd(g *globals) *cobra.Command {
	var user, hookURL string
	var urlStdin bool
	add := &cobra.Command{
		Use:   "add ACCOUNT --user USER --url URL",
		Short: "Open a URL whenever an order assigned to a sub-user is created, changed, unassigned or deleted",
		Long: `Make the server open URL (HTTP GET) whenever an order assigned to the sub-user
USER of ACCOUNT (or to ~all~) is created, changed, assigned to it, unassigned
or deleted. Changes within 100 ms make one GET; a GET that fails is tried
again a few times, and the last delivery shows in "hook list".

The URL usually holds a secret (a push key): the server never shows it again
in full; answers and logs carry it with its query values masked. Pass it on
standard input (--url-stdin) to keep it out of the process list.`,
		Example: `  accountserver hook add acme --user vendor1 --url "http://127.0.0.1:8082/api/?apiKey=KEY"
  echo "$PUSH_URL" | accountserver hook add acme --user vendor1 --url-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			if urlStdin {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 8192))
				if err != nil {
					return err
				}
				hookURL = strings.TrimSpace(string(b))
			}
			if hookURL == "" {
				return fmt.Errorf("pass --url or --url-stdin")
			}
			h, err := c.AddHook(cmd.Context(), args[0], accountserver.Hook{Username: user, URL: hookURL})
			if err != nil {
				return err
			}
			return g.show(h, func(w io.Writer) { printHook(w, h) })
		}),
	}
	add.Flags().StringVar(&user, "user", "", "sub-user whose orders the hook follows (required)")
	add.Flags().StringVar(&hookURL, "url", "", "URL to open (GET)")
	add.Flags().BoolVar(&urlStdin, "url-stdin", false, "read the URL from standard input")
	mustMarkRequired(add, "user")

	del := &cobra.Command{
		Use:     "delete ACCOUNT ID",
		Short:   "Remove a hook",
		Example: "  accountserver hook delete acme 1",
		Args:    cobra.ExactArgs(2),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			id, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("hook ID %q: want a number (see hook list)", args[1])
			}
			if err := c.DeleteHook(cmd.Context(), args[0], id); err != nil {
				return err
			}
			return g.show(map[string]int64{"deleted": id}, func(w io.Writer) { fmt.Fprintf(w, "deleted:\t%d\n", id) })
		}),
	}
	return group("hook", "Open a URL when the orders of a sub-user change (event-driven auto-import)",
		add, listHooksCmd(g, "list ACCOUNT"), del)
}

func printHook(w io.Writer, h accountserver.Hook) {
	fmt.Fprintf(w, "id:\t%d\n", h.ID)
	fmt.Fprintf(w, "account:\t%s\n", h.Account)
	fmt.Fprintf(w, "user:\t%s\n", h.Username)
	fmt.Fprintf(w, "url:\t%s\n", h.URL)
	fmt.Fprintf(w, "deliveries:\t%d ok, %d failed\n", h.Deliveries, h.Failures)
	fmt.Fprintf(w, "last delivery:\t%s\n", lastDelivery(h))
	if h.LastError != "" {
		fmt.Fprintf(w, "last error:\t%s\n", h.LastError)
	}
}

func lastDelivery(h accountserver.Hook) string {
	if h.LastDeliveryAt == nil {
		return "-"
	}
	detail := fmt.Sprintf("%d attempt", h.LastAttempts)
	if h.LastAttempts != 1 {
		detail += "s"
	}
	if h.LastCode != 0 {
		detail = fmt.Sprintf("HTTP %d, %s", h.LastCode, detail)
	}
	return fmt.Sprintf("%s %s (%s)", tsp(h.LastDeliveryAt), h.LastStatus, detail)
}

func listHooksCmd(g *globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   "List the hooks of an account with their last delivery",
		Example: "  accountserver hook list acme",
		Args:    cobra.ExactArgs(1),
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			hs, err := c.ListHooks(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(hs, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tUSER\tURL\tOK\tFAILED\tLAST DELIVERY\tLAST ERROR")
				for _, h := range hs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\t%s\n", h.ID, h.Username, h.URL, h.Deliveries, h.Failures,
						lastDelivery(h), dash(h.LastError))
				}
			})
		}),
	}
}

// ---- faults and counters ----

func newFaultCmd(g *globals) *cobra.Command {
	var f accountserver.Fault
	var kind string
	inject := &cobra.Command{
		Use:   "inject --call CALL --kind KIND",
		Short: "Make the server fail a call (status, latency, truncate, garbage, drop)",
		Long: `Make the server fail requests of a call until the fault has hit --times
requests (0: until cleared). Calls: ` + strings.Join(accountserver.Calls, ", ") + `, or * for all.`,
		Example: `  accountserver fault inject --call getWorkOrders --kind status --status 503 --times 2
  accountserver fault inject --call push --kind status --status 429 --retry-after 3s
  accountserver fault inject --call itemContent --kind truncate --account fieldco
  accountserver fault inject --call '*' --kind latency --latency 500ms`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			f.Kind = accountserver.FaultKind(kind)
			if err := c.InjectFault(cmd.Context(), f); err != nil {
				return err
			}
			return showFaults(cmd, g, c)
		}),
	}
	fl := inject.Flags()
	fl.StringVar(&f.Call, "call", "", "call to fail (required)")
	fl.StringVar(&kind, "kind", string(accountserver.FaultStatus), "status, latency, truncate, garbage or drop")
	fl.StringVar(&f.Account, "account", "", "only this account")
	fl.IntVar(&f.Status, "status", 0, "HTTP status of a status fault (default 503)")
	fl.DurationVar(&f.RetryAfter, "retry-after", 0, "Retry-After of a status fault")
	fl.DurationVar(&f.Latency, "latency", 0, "delay before answering")
	fl.IntVar(&f.Times, "times", 0, "number of requests to fail; 0 until cleared")
	mustMarkRequired(inject, "call")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List the active faults",
		Example: "  accountserver fault list",
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			return showFaults(cmd, g, c)
		}),
	}
	clear := &cobra.Command{
		Use:     "clear",
		Short:   "Remove every fault",
		Example: "  accountserver fault clear",
		Args:    cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			if err := c.ClearFaults(cmd.Context()); err != nil {
				return err
			}
			return showFaults(cmd, g, c)
		}),
	}
	return group("fault", "Inject faults into the protocol calls (for tests and demos)", inject, list, clear)
}

func showFaults(cmd *cobra.Command, g *globals, c *accountserver.AdminClient) error {
	fs, err := c.Faults(cmd.Context())
	if err != nil {
		return err
	}
	return g.show(fs, func(w io.Writer) {
		fmt.Fprintln(w, "CALL\tACCOUNT\tKIND\tSTATUS\tRETRY AFTER\tLATENCY\tLEFT")
		for _, f := range fs {
			left := "until cleared"
			if f.Times > 0 {
				left = strconv.Itoa(f.Times)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", f.Call, dash(f.Account), f.Kind, f.Status, f.RetryAfter, f.Latency, left)
		}
	})
}

func newCountersCmd(g *globals) *cobra.Command {
	var account string
	var reset bool
	cmd := &cobra.Command{
		Use:   "counters",
		Short: "Show (or reset) the request count of every protocol call",
		Example: `  accountserver counters
  accountserver counters --account acme
  accountserver counters --reset`,
		Args: cobra.NoArgs,
		RunE: g.run(func(cmd *cobra.Command, c *accountserver.AdminClient, args []string) error {
			if reset {
				if err := c.ResetCounters(cmd.Context()); err != nil {
					return err
				}
			}
			counts, err := c.RequestCounts(cmd.Context(), account)
			if err != nil {
				return err
			}
			return g.show(counts, func(w io.Writer) {
				fmt.Fprintln(w, "CALL\tREQUESTS")
				for _, call := range accountserver.Calls {
					fmt.Fprintf(w, "%s\t%d\n", call, counts[call])
				}
			})
		}),
	}
	cmd.Flags().StringVar(&account, "account", "", "only this account")
	cmd.Flags().BoolVar(&reset, "reset", false, "reset the counts first")
	return cmd
}

// ---- helpers ----

func mustMarkRequired(cmd *cobra.Command, flag string) {
	if err := cmd.MarkFlagRequired(flag); err != nil {
		panic(err) // a flag of that name is always defined just above
	}
}

func keyValues(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want KEY=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
