-- Argo CD health for every SignalCraft kind (AlertPolicy, EscalationPolicy, Integration); docs/gitops.md shows the
-- argocd-cm keys. Uses only what argocd-cm scripts get (no string or math library); tests: health_test.yaml.
local hs = { status = "Progressing", message = "Waiting for the SignalCraft operator to report status" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "The operator has not yet seen generation " .. generation
  return hs
end
local c = {}
for _, condition in ipairs(obj.status.conditions) do
  c[condition.type] = condition
end
if c.Stalled ~= nil and c.Stalled.status == "True" then
  return { status = "Degraded", message = c.Stalled.message }
end
if c.Synced ~= nil and c.Synced.status == "False" and c.Synced.reason == "Suspended" then
  return { status = "Suspended", message = c.Synced.message }
end
if c.Reconciling ~= nil and c.Reconciling.status == "True" then
  return { status = "Progressing", message = c.Reconciling.message }
end
if c.Synced ~= nil and c.Synced.status == "False" and c.Synced.reason ~= "Drifted" then
  return { status = "Degraded", message = c.Synced.message }
end
if c.Ready ~= nil then
  if c.Ready.observedGeneration ~= nil and generation ~= nil and c.Ready.observedGeneration < generation then
    return hs
  end
  if c.Ready.status == "True" then
    return { status = "Healthy", message = c.Ready.message }
  end
  if c.Ready.status == "False" then
    return { status = "Degraded", message = c.Ready.message }
  end
end
return hs
