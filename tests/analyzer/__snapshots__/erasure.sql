SELECT target
FROM (
  SELECT id,
    argMinMerge(target) AS target
  FROM {database}.identity_links
  GROUP BY id
)
WHERE id = 'anon-7-0-0'
  AND target != '';

SELECT id
FROM (
  SELECT id,
    argMinMerge(target) AS target
  FROM {database}.identity_links
  GROUP BY id
)
WHERE has(['anon-7-0-0'], target);

SELECT count()
FROM {database}.events
WHERE has(['anon-7-0-0'], user_id) OR (user_id = '' AND has(['anon-7-0-0'], anonymous_id));

SELECT count()
FROM {database}.identity_links
WHERE has(['anon-7-0-0'], id);

SELECT count()
FROM {database}.segment_members
WHERE has(['anon-7-0-0'], person_id);

SELECT count()
FROM {database}.rfm_values
WHERE has(['anon-7-0-0'], person_id);

SELECT count()
FROM {database}.propensity_scores
WHERE has(['anon-7-0-0'], person_id);

SELECT count()
FROM {database}.public_segments
WHERE has(['anon-7-0-0'], anonymous_id);

SELECT count()
FROM {database}.experiment_exposures
WHERE has(['anon-7-0-0'], anonymous_id);

ALTER TABLE {database}.events DELETE
WHERE has(['anon-7-0-0'], user_id) OR (user_id = '' AND has(['anon-7-0-0'], anonymous_id));

ALTER TABLE {database}.identity_links DELETE
WHERE has(['anon-7-0-0'], id);

ALTER TABLE {database}.segment_members DELETE
WHERE has(['anon-7-0-0'], person_id);

ALTER TABLE {database}.rfm_values DELETE
WHERE has(['anon-7-0-0'], person_id);

ALTER TABLE {database}.propensity_scores DELETE
WHERE has(['anon-7-0-0'], person_id);

ALTER TABLE {database}.public_segments DELETE
WHERE has(['anon-7-0-0'], anonymous_id);

ALTER TABLE {database}.experiment_exposures DELETE
WHERE has(['anon-7-0-0'], anonymous_id);

ALTER TABLE {database}.events DELETE
WHERE has(['anon-7-0-0'], user_id) OR (user_id = '' AND has(['anon-7-0-0'], anonymous_id));

ALTER TABLE {database}.identity_links DELETE
WHERE has(['anon-7-0-0'], id);

ALTER TABLE {database}.segment_members DELETE
WHERE has(['anon-7-0-0'], person_id);

ALTER TABLE {database}.rfm_values DELETE
WHERE has(['anon-7-0-0'], person_id);

ALTER TABLE {database}.propensity_scores DELETE
WHERE has(['anon-7-0-0'], person_id);

ALTER TABLE {database}.public_segments DELETE
WHERE has(['anon-7-0-0'], anonymous_id);

ALTER TABLE {database}.experiment_exposures DELETE
WHERE has(['anon-7-0-0'], anonymous_id);

SELECT count()
FROM {database}.events
WHERE has(['anon-7-0-0'], user_id) OR (user_id = '' AND has(['anon-7-0-0'], anonymous_id));

SELECT count()
FROM {database}.identity_links
WHERE has(['anon-7-0-0'], id);

SELECT count()
FROM {database}.segment_members
WHERE has(['anon-7-0-0'], person_id);

SELECT count()
FROM {database}.rfm_values
WHERE has(['anon-7-0-0'], person_id);

SELECT count()
FROM {database}.propensity_scores
WHERE has(['anon-7-0-0'], person_id);

SELECT count()
FROM {database}.public_segments
WHERE has(['anon-7-0-0'], anonymous_id);

SELECT count()
FROM {database}.experiment_exposures
WHERE has(['anon-7-0-0'], anonymous_id);
