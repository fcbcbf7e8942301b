package accountserver

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/pruvan-share/share-operator/protocol"
)

// The admin API: JSON over HTTP under /admin, authenticated by
// "Authorization: Bearer <admin token>". Every handler calls the Server
// method of the same name; docs/accountserver.md lists the routes.

// adminError is the body of every admin error answer.
type adminError struct {
	Error string `json:"error"`
}

type adminHandler func(w http.ResponseWriter, r *http.Request) (any, error)

func (s *Server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f adminHandler) { mux.Handle(pattern, s.admin(f)) }

	h("GET /accounts", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListAccounts(r.Context())
	})
	h("POST /accounts", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req struct {
			Name string `json:"name"`
		}
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		return created(s.CreateAccount(r.Context(), req.Name))
	})
	h("GET /accounts/{account}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.Account(r.Context(), r.PathValue("account"))
	})

	h("GET /accounts/{account}/users", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListUsers(r.Context(), r.PathValue("account"))
	})
	h("POST /accounts/{account}/users", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req NewUser
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		return created(s.CreateUser(r.Context(), r.PathValue("account"), req))
	})

	h("GET /accounts/{account}/worktypes", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListWorkTypes(r.Context(), r.PathValue("account"))
	})
	h("POST /accounts/{account}/worktypes", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req WorkType
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		if err := s.PutWorkType(r.Context(), r.PathValue("account"), req); err != nil {
			return nil, err
		}
		return req, nil
	})

	h("GET /accounts/{account}/integrations", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListIntegrations(r.Context(), r.PathValue("account"))
	})
	h("POST /accounts/{account}/integrations", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req NewIntegration
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		return created(s.CreateIntegration(r.Context(), r.PathValue("account"), req))
	})
	h("GET /accounts/{account}/integrations/{code}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.Integration(r.Context(), r.PathValue("account"), r.PathValue("code"))
	})
	h("PATCH /accounts/{account}/integrations/{code}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req struct {
			AutoRelay *bool `json:"autoRelay"`
		}
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		if req.AutoRelay == nil {
			return nil, errorf(ErrInvalid, "autoRelay is required")
		}
		return s.SetAutoRelay(r.Context(), r.PathValue("account"), r.PathValue("code"), *req.AutoRelay)
	})

	h("GET /accounts/{account}/orders", func(w http.ResponseWriter, r *http.Request) (any, error) {
		q := r.URL.Query()
		return s.ListOrders(r.Context(), r.PathValue("account"), ListOrdersOptions{
			IncludeDeleted: q.Get("deleted") == "true",
			Integration:    q.Get("integration"),
			AssignedTo:     q.Get("assignedTo"),
		})
	})
	h("POST /accounts/{account}/orders", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var wo protocol.WorkOrder
		if err := s.readJSON(w, r, &wo); err != nil {
			return nil, err
		}
		return created(s.CreateOrder(r.Context(), r.PathValue("account"), wo))
	})
	h("GET /accounts/{account}/orders/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.GetOrder(r.Context(), r.PathValue("account"), r.PathValue("name"))
	})
	h("PATCH /accounts/{account}/orders/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var wo protocol.WorkOrder
		if err := s.readJSON(w, r, &wo); err != nil {
			return nil, err
		}
		return s.EditOrder(r.Context(), r.PathValue("account"), r.PathValue("name"), wo)
	})
	h("DELETE /accounts/{account}/orders/{name}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		if err := s.DeleteOrder(r.Context(), r.PathValue("account"), r.PathValue("name")); err != nil {
			return nil, err
		}
		return s.GetOrder(r.Context(), r.PathValue("account"), r.PathValue("name"))
	})
	h("POST /accounts/{account}/orders/{name}/assign", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req struct {
			AssignedTo string `json:"assignedTo"`
		}
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		return s.AssignOrder(r.Context(), r.PathValue("account"), r.PathValue("name"), req.AssignedTo)
	})
	h("POST /accounts/{account}/orders/{name}/unassign", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.UnassignOrder(r.Context(), r.PathValue("account"), r.PathValue("name"))
	})
	h("POST /accounts/{account}/orders/{name}/publish", func(w http.ResponseWriter, r *http.Request) (any, error) {
		n, err := s.PublishItems(r.Context(), r.PathValue("account"), r.PathValue("name"))
		if err != nil {
			return nil, err
		}
		return PublishResult{Project: r.PathValue("name"), Released: n}, nil
	})
	h("GET /accounts/{account}/orders/{name}/items", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListItems(r.Context(), r.PathValue("account"), r.PathValue("name"))
	})
	h("POST /accounts/{account}/orders/{name}/items", s.adminUpload)
	h("POST /accounts/{account}/orders/{name}/checkin", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req CrewAction
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		user, err := s.crewUser(r, req.User)
		if err != nil {
			return nil, err
		}
		return created(s.CheckIn(r.Context(), r.PathValue("account"), r.PathValue("name"), user, req.Item))
	})

	h("GET /accounts/{account}/items", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListItems(r.Context(), r.PathValue("account"), r.URL.Query().Get("project"))
	})
	mux.Handle("GET /accounts/{account}/items/{uuid}/content", s.authAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := s.ReadItem(r.Context(), r.PathValue("account"), r.PathValue("uuid"))
		if err != nil {
			s.adminFail(w, r, err)
			return
		}
		defer rc.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, rc) // the client went away: nothing to tell it
	})))

	h("GET /accounts/{account}/hooks", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.ListHooks(r.Context(), r.PathValue("account"))
	})
	h("POST /accounts/{account}/hooks", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req Hook
		if err := s.readJSON(w, r, &req); err != nil {
			return nil, err
		}
		return created(s.AddHook(r.Context(), r.PathValue("account"), req))
	})
	h("DELETE /accounts/{account}/hooks/{id}", func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return nil, errorf(ErrNotFound, "unknown hook %q", r.PathValue("id"))
		}
		if err := s.DeleteHook(r.Context(), r.PathValue("account"), id); err != nil {
			return nil, err
		}
		return map[string]int64{"deleted": id}, nil
	})

	h("GET /faults", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return s.Faults(), nil
	})
	h("POST /faults", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var f Fault
		if err := s.readJSON(w, r, &f); err != nil {
			return nil, err
		}
		if err := s.InjectFault(f); err != nil {
			return nil, err
		}
		return s.Faults(), nil
	})
	h("DELETE /faults", func(w http.ResponseWriter, r *http.Request) (any, error) {
		s.ClearFaults()
		return s.Faults(), nil
	})
	h("GET /counters", func(w http.ResponseWriter, r *http.Request) (any, error) {
		if acct := r.URL.Query().Get("account"); acct != "" {
			out := map[string]int{}
			for _, c := range Calls {
				out[c] = s.AccountRequests(acct, c)
			}
			return out, nil
		}
		return s.RequestCounts(), nil
	})
	h("DELETE /counters", func(w http.ResponseWriter, r *http.Request) (any, error) {
		s.ResetCounters()
		return s.RequestCounts(), nil
	})
	// What no route serves: a path that some route serves with other
	// methods answers 405 and names them in Allow; any other is 404.
	mux.Handle("/", s.admin(func(w http.ResponseWriter, r *http.Request) (any, error) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			return nil, errorf(errMethodNotAllowed, "%s is not served here: use %s", r.Method, allow)
		}
		return nil, errorf(ErrNotFound, "no admin route %s %s", r.Method, r.URL.Path)
	}))
	return mux
}

// allowedMethods lists the methods that a route of mux other than the
// catch-all "/" serves at r's path, as an Allow header says them.
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPost, http.MethodPut} {
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// PublishResult is the answer of publishing a project's items.
type PublishResult struct {
	Project  string `json:"project"`
	Released int    `json:"released"`
}

// CrewAction is the body of an admin check-in, and the "meta" part of an
// admin upload: the sub-user who acts (default: the project's assignee) and
// the item's metadata.
type CrewAction struct {
	User string        `json:"user,omitempty"`
	Item protocol.Item `json:"item"`
}

// crewUser is the sub-user a crew action runs as: the one named, or the
// project's assignee when that is one sub-user.
func (s *Server) crewUser(r *http.Request, user string) (string, error) {
	if user != "" {
		return user, nil
	}
	o, err := s.GetOrder(r.Context(), r.PathValue("account"), r.PathValue("name"))
	if err != nil {
		return "", err
	}
	if o.AssignedTo == "" || o.AssignedTo == protocol.AssignAll {
		return "", errorf(ErrInvalid, "project %q has no single assignee: name the user", o.Name)
	}
	return o.AssignedTo, nil
}

// adminUpload is a crew upload: a multipart body with a "meta" part
// (CrewAction JSON) followed by an optional "file" part, streamed to disk.
func (s *Server) adminUpload(w http.ResponseWriter, r *http.Request) (any, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.limits.ItemBytes+s.limits.PayloadBytes+1<<20)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, errorf(ErrInvalid, "the body must be multipart/form-data with a meta part and a file part")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errorf(ErrInvalid, "the body is not valid multipart/form-data")
	}
	part, err := mr.NextPart()
	if errors.Is(err, errRequestTimeout) {
		return nil, err
	}
	if err != nil || part.FormName() != "meta" {
		return nil, errorf(ErrInvalid, "the first part must be %q", "meta")
	}
	var act CrewAction
	data, err := io.ReadAll(io.LimitReader(part, s.limits.PayloadBytes+1))
	if err != nil {
		return nil, uploadReadError(err)
	}
	if int64(len(data)) > s.limits.PayloadBytes {
		return nil, errorf(ErrTooLarge, "meta part larger than %d bytes", s.limits.PayloadBytes)
	}
	if err := json.Unmarshal(data, &act); err != nil {
		return nil, errorf(ErrInvalid, "%s", jsonMessage("the meta part", err))
	}
	user, err := s.crewUser(r, act.User)
	if err != nil {
		return nil, err
	}
	var content io.Reader
	part, err = mr.NextPart()
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, uploadReadError(err)
	case part.FormName() != protocol.FieldFile:
		return nil, errorf(ErrInvalid, "the second part must be %q", protocol.FieldFile)
	default:
		content = part
	}
	it, err := s.UploadItem(r.Context(), r.PathValue("account"), r.PathValue("name"), user, act.Item, content)
	if err != nil {
		return nil, uploadReadError(err)
	}
	return createdAnswer{it}, nil
}

// createdAnswer is answered with 201.
type createdAnswer struct{ v any }

// created answers 201 for a successful creation.
func created[T any](v T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return createdAnswer{v}, nil
}

// readJSON decodes an admin request body of at most Limits.AdminBytes:
// one JSON value. Errors say what is wrong in JSON's words (jsonMessage).
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, s.limits.AdminBytes)
	dec := json.NewDecoder(body)
	err := dec.Decode(v)
	if err == nil {
		// Anything but white space after the value is a second value.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = terr
			if err == nil {
				return errorf(ErrInvalid, "the request body must hold one JSON value")
			}
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errorf(ErrTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, errRequestTimeout):
		return err
	case errors.Is(err, io.EOF):
		return errorf(ErrInvalid, "the request body must be JSON")
	}
	return errorf(ErrInvalid, "%s", jsonMessage("the request body", err))
}

// authAdmin checks the bearer token in constant time.
func (s *Server) authAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || s.cfg.AdminToken == "" || !constantTimeEqual(strings.TrimSpace(tok), s.cfg.AdminToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="accountserver admin"`)
			s.adminFail(w, r, errorf(ErrUnauthorized, "a valid admin bearer token is required"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) admin(f adminHandler) http.Handler {
	return s.authAdmin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f(w, r)
		if err != nil {
			s.adminFail(w, r, err)
			return
		}
		status := http.StatusOK
		if c, ok := v.(createdAnswer); ok {
			status, v = http.StatusCreated, c.v
		}
		writeAdminJSON(w, status, v)
	}))
}

// writeAdminJSON answers v as compact JSON. Never indented: attributes a
// remote system sent are answered as they came, and indenting them costs
// their depth in spaces on every line (a push of 20 KB nested 9,000 deep
// once made a 162 MB answer). The command line indents what it prints.
func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func (s *Server) adminFail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpStatus(err)
	if status == http.StatusInternalServerError {
		s.log.Error("admin call failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	setErrorHeaders(w.Header(), status, "")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(adminError{Error: publicMessage(err)})
	_, _ = w.Write(append(body, '\n'))
}
