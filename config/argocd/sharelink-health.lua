-- Argo CD health of a ShareLink (share.pruvan.io/v1alpha1).
--
-- It reads status in kstatus's order (Reconciling and observedGeneration,
-- then Stalled, then Ready), so that Argo CD, Flux and `kubectl wait` agree;
-- docs/gitops.md says what each answer means. It uses only the base and table
-- libraries, which is what Argo CD gives a script from argocd-cm.
local hs = {}

local function condition(typ)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == typ then
      return c
    end
  end
  return nil
end

-- what a condition says, for a person: its message, else its reason
local function said(c, fallback)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

-- Ready=False reasons that need a person: a Secret, a login, a refusal.
local needsPerson = {
  SecretNotFound = true,
  InvalidSecret = true,
  InvalidCredentials = true,
  Refused = true,
}
-- Ready=False reasons the operator waits out by itself.
local waiting = {
  Progressing = true,
  Throttled = true,
  Unreachable = true,
}

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "the link is being deleted: its SharedProjects go first, the vendor's projects stay"
  return hs
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "the link is suspended: no calls to either account"
  return hs
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to report status"
  return hs
end

local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = said(reconciling, "reconciling")
  return hs
end

local generation = obj.metadata.generation or 0
local observed = obj.status.observedGeneration or 0
if generation ~= observed then
  hs.status = "Progressing"
  if observed < 1 then
    hs.message = "waiting for the operator's first pass over the link"
  else
    hs.message = "waiting for the operator to handle generation " .. tostring(generation) ..
      " (last handled: " .. tostring(observed) .. ")"
  end
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. said(stalled, "needs a person")
  return hs
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the link's first Ready condition"
  return hs
end
if ready.observedGeneration ~= nil and ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Ready describes generation " .. tostring(ready.observedGeneration) ..
    ", not " .. tostring(generation)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = said(ready, "ready")
  return hs
end
if ready.status == "False" and not waiting[ready.reason] then
  hs.status = "Degraded"
  if needsPerson[ready.reason] then
    hs.message = ready.reason .. ": " .. said(ready, "needs a person")
  else
    hs.message = (ready.reason or "NotReady") .. ": " .. said(ready, "not ready")
  end
  return hs
end
hs.status = "Progressing"
hs.message = said(ready, "not ready yet")
return hs
