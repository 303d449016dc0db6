SELECT utm_source,
  utm_medium,
  utm_campaign,
  sum(amount),
  any(cur)
FROM (
  SELECT day,
    utm_source,
    utm_medium,
    utm_campaign,
    argMax(spend, import_us) AS amount,
    argMax(currency, import_us) AS cur
  FROM {database}.campaign_spend
  WHERE day >= toDate(1698796800)
    AND day < toDate(1701388800)
  GROUP BY day,
    utm_source,
    utm_medium,
    utm_campaign
)
GROUP BY utm_source,
  utm_medium,
  utm_campaign;

SELECT segment,
  tupleElement(x, 1),
  tupleElement(x, 2),
  tupleElement(x, 3),
  uniqExact(person_id)
FROM (
  SELECT person_id,
    arrayJoin(arrayDistinct(arrayFilter(
          (x, k, t) -> k = 1 AND t >= 1698796800000,
          arrayMap((a, b, c) -> (a, b, c), src, med, camp),
          touch,
          times
        ))) AS x,
    arrayJoin(arrayConcat(['(all)'], segs)) AS segment
  FROM (
    SELECT *,
      CAST([] AS Array(String)) AS segs
    FROM (
      SELECT *
      FROM (
        SELECT person,
          person_id,
          arraySort((k, o) -> o, _gk, _go) AS _sk,
          arrayEnumerateUniq(_sk) AS _first,
          arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_touch, _go), _first) AS touch,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_src, _go), _first) AS src,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_med, _go), _first) AS med,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_camp, _go), _first) AS camp,
          arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rev, _go), _first) AS rev
        FROM (
          SELECT person,
            any(_pid) AS person_id,
            groupArray(_o) AS _go,
            groupArray(_k) AS _gk,
            groupArray(_f_touch) AS _g_touch,
            groupArray(_f_src) AS _g_src,
            groupArray(_f_med) AS _g_med,
            groupArray(_f_camp) AS _g_camp,
            groupArray(_f_rev) AS _g_rev
          FROM (
            SELECT if(linked_person != 0, linked_person, identity_key) AS person,
              _o,
              _k,
              _f_touch,
              _f_src,
              _f_med,
              _f_camp,
              _f_rev,
              if(linked_id != '', linked_id, _id) AS _pid
            FROM (
              SELECT identity_key,
                timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                event_key AS _k,
                toUInt8(utm_source != '') AS _f_touch,
                utm_source AS _f_src,
                utm_medium AS _f_med,
                utm_campaign AS _f_camp,
                if(
                  type = 'track' AND event = 'Order Completed',
                  toFloat64OrZero(visitParamExtractString(property_paths, 'revenue')),
                  -1.
                ) AS _f_rev,
                if(user_id != '', user_id, anonymous_id) AS _id
              FROM {database}.events
              WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1696204800) AND timestamp < toDateTime(1701388800))
                AND device_type != 'bot'
            ) AS e
            ANY LEFT JOIN (
              SELECT cityHash64(id) AS identity_key,
                cityHash64(person) AS linked_person,
                person AS linked_id
              FROM (
                SELECT id,
                  if(t2 != '', t2, t1) AS person
                FROM (
                  SELECT id,
                    target AS t1
                  FROM (
                    SELECT id,
                      argMinMerge(target) AS target
                    FROM {database}.identity_links
                    GROUP BY id
                  )
                ) AS a
                ANY LEFT JOIN (
                  SELECT id AS t1,
                    target AS t2
                  FROM (
                    SELECT id,
                      argMinMerge(target) AS target
                    FROM {database}.identity_links
                    GROUP BY id
                  )
                ) AS b USING t1
              )
            ) AS p USING identity_key
          )
          GROUP BY person
        )
      )
    )
  )
)
GROUP BY segment,
  tupleElement(x, 1),
  tupleElement(x, 2),
  tupleElement(x, 3);

SELECT tupleElement(a, 1) AS model,
  segment,
  tupleElement(a, 2) AS s,
  tupleElement(a, 3) AS m,
  tupleElement(a, 4) AS c,
  count(),
  sum(amount)
FROM (
  SELECT amount,
    fi,
    ri,
    length(times) + 1 - ri AS li,
    arrayJoin([
        ('first_touch', if(fi > 0, src[fi], '(direct)'), if(fi > 0, med[fi], ''), if(fi > 0, camp[fi], '')),
        ('last_touch', if(ri > 0, src[li], '(direct)'), if(ri > 0, med[li], ''), if(ri > 0, camp[li], ''))
      ]) AS a,
    arrayJoin(arrayConcat(['(all)'], segs)) AS segment
  FROM (
    SELECT segs,
      times,
      src,
      med,
      camp,
      arrayJoin(arrayFilter((i, r, t) -> r >= 0 AND t >= 1698796800000 AND t < 1701388800000, arrayEnumerate(times), rev, times)) AS i,
      times[i] AS pt,
      rev[i] AS amount,
      arrayFirstIndex((t, k) -> k = 1 AND t <= pt AND t + 2592000000 >= pt, times, touch) AS fi,
      arrayFirstIndex((t, k) -> k = 1 AND t <= pt AND t + 2592000000 >= pt, arrayReverse(times), arrayReverse(touch)) AS ri
    FROM (
      SELECT *,
        CAST([] AS Array(String)) AS segs
      FROM (
        SELECT *
        FROM (
          SELECT person,
            person_id,
            arraySort((k, o) -> o, _gk, _go) AS _sk,
            arrayEnumerateUniq(_sk) AS _first,
            arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_touch, _go), _first) AS touch,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_src, _go), _first) AS src,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_med, _go), _first) AS med,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_camp, _go), _first) AS camp,
            arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rev, _go), _first) AS rev
          FROM (
            SELECT person,
              any(_pid) AS person_id,
              groupArray(_o) AS _go,
              groupArray(_k) AS _gk,
              groupArray(_f_touch) AS _g_touch,
              groupArray(_f_src) AS _g_src,
              groupArray(_f_med) AS _g_med,
              groupArray(_f_camp) AS _g_camp,
              groupArray(_f_rev) AS _g_rev
            FROM (
              SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                _o,
                _k,
                _f_touch,
                _f_src,
                _f_med,
                _f_camp,
                _f_rev,
                if(linked_id != '', linked_id, _id) AS _pid
              FROM (
                SELECT identity_key,
                  timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                  event_key AS _k,
                  toUInt8(utm_source != '') AS _f_touch,
                  utm_source AS _f_src,
                  utm_medium AS _f_med,
                  utm_campaign AS _f_camp,
                  if(
                    type = 'track' AND event = 'Order Completed',
                    toFloat64OrZero(visitParamExtractString(property_paths, 'revenue')),
                    -1.
                  ) AS _f_rev,
                  if(user_id != '', user_id, anonymous_id) AS _id
                FROM {database}.events
                WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1696204800) AND timestamp < toDateTime(1701388800))
                  AND device_type != 'bot'
              ) AS e
              ANY LEFT JOIN (
                SELECT cityHash64(id) AS identity_key,
                  cityHash64(person) AS linked_person,
                  person AS linked_id
                FROM (
                  SELECT id,
                    if(t2 != '', t2, t1) AS person
                  FROM (
                    SELECT id,
                      target AS t1
                    FROM (
                      SELECT id,
                        argMinMerge(target) AS target
                      FROM {database}.identity_links
                      GROUP BY id
                    )
                  ) AS a
                  ANY LEFT JOIN (
                    SELECT id AS t1,
                      target AS t2
                    FROM (
                      SELECT id,
                        argMinMerge(target) AS target
                      FROM {database}.identity_links
                      GROUP BY id
                    )
                  ) AS b USING t1
                )
              ) AS p USING identity_key
            )
            GROUP BY person
          )
        )
      )
    )
  )
)
GROUP BY model,
  segment,
  s,
  m,
  c;

SELECT tupleElement(x, 1) AS model,
  segment,
  tupleElement(x, 3) AS s,
  tupleElement(x, 4) AS m,
  tupleElement(x, 5) AS c,
  sum(tupleElement(x, 2)),
  sum(tupleElement(x, 2) * amount)
FROM (
  SELECT amount,
    arrayJoin(arrayConcat(['(all)'], segs)) AS segment,
    arrayJoin(if(
        n = 0,
        [
          ('linear', 1., '(direct)', '', ''),
          ('time_decay', 1., '(direct)', '', ''),
          ('position_based', 1., '(direct)', '', '')
        ],
        arrayConcat(
          arrayMap((w, s, m, c) -> ('linear', w, s, m, c), lw, ts, tm, tc),
          arrayMap((w, s, m, c) -> ('time_decay', w, s, m, c), dw, ts, tm, tc),
          arrayMap((w, s, m, c) -> ('position_based', w, s, m, c), pw, ts, tm, tc)
        )
      )) AS x
  FROM (
    SELECT segs,
      amount,
      n,
      ts,
      tm,
      tc,
      arrayResize([1. / n], n, 1. / n) AS lw,
      arrayMap((t, p) -> exp2((toInt64(t) - toInt64(p)) / 604800000.0), tt, arrayResize([pt], n, pt)) AS raw,
      arrayMap((w, s) -> w / s, raw, arrayResize([arraySum(raw)], n, arraySum(raw))) AS dw,
      arrayMap(
        (e, k) -> multiIf(k = 1, 1., k = 2, 0.5, e = 1 OR e = k, 0.4, 0.2 / (k - 2)),
        arrayEnumerate(tt),
        arrayResize([n], n, n)
      ) AS pw
    FROM (
      SELECT segs,
        amount,
        pt,
        arrayFilter((t, k) -> k = 1 AND t <= pt AND t + 2592000000 >= pt, times, touch) AS tt,
        arrayFilter((x, t, k) -> k = 1 AND t <= pt AND t + 2592000000 >= pt, src, times, touch) AS ts,
        arrayFilter((x, t, k) -> k = 1 AND t <= pt AND t + 2592000000 >= pt, med, times, touch) AS tm,
        arrayFilter((x, t, k) -> k = 1 AND t <= pt AND t + 2592000000 >= pt, camp, times, touch) AS tc,
        length(tt) AS n
      FROM (
        SELECT segs,
          times,
          src,
          med,
          camp,
          touch,
          arrayJoin(arrayFilter((i, r, t) -> r >= 0 AND t >= 1698796800000 AND t < 1701388800000, arrayEnumerate(times), rev, times)) AS i,
          times[i] AS pt,
          rev[i] AS amount
        FROM (
          SELECT *,
            CAST([] AS Array(String)) AS segs
          FROM (
            SELECT *
            FROM (
              SELECT person,
                person_id,
                arraySort((k, o) -> o, _gk, _go) AS _sk,
                arrayEnumerateUniq(_sk) AS _first,
                arrayMap(o -> bitShiftRight(o, 22), arrayFilter((x, f) -> f = 1, arraySort(_go), _first)) AS times,
                arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_touch, _go), _first) AS touch,
                arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_src, _go), _first) AS src,
                arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_med, _go), _first) AS med,
                arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_camp, _go), _first) AS camp,
                arrayFilter((x, f) -> f = 1, arraySort((x, o) -> o, _g_rev, _go), _first) AS rev
              FROM (
                SELECT person,
                  any(_pid) AS person_id,
                  groupArray(_o) AS _go,
                  groupArray(_k) AS _gk,
                  groupArray(_f_touch) AS _g_touch,
                  groupArray(_f_src) AS _g_src,
                  groupArray(_f_med) AS _g_med,
                  groupArray(_f_camp) AS _g_camp,
                  groupArray(_f_rev) AS _g_rev
                FROM (
                  SELECT if(linked_person != 0, linked_person, identity_key) AS person,
                    _o,
                    _k,
                    _f_touch,
                    _f_src,
                    _f_med,
                    _f_camp,
                    _f_rev,
                    if(linked_id != '', linked_id, _id) AS _pid
                  FROM (
                    SELECT identity_key,
                      timestamp_ms * 4194304 + bitShiftRight(event_key, 42) AS _o,
                      event_key AS _k,
                      toUInt8(utm_source != '') AS _f_touch,
                      utm_source AS _f_src,
                      utm_medium AS _f_med,
                      utm_campaign AS _f_camp,
                      if(
                        type = 'track' AND event = 'Order Completed',
                        toFloat64OrZero(visitParamExtractString(property_paths, 'revenue')),
                        -1.
                      ) AS _f_rev,
                      if(user_id != '', user_id, anonymous_id) AS _id
                    FROM {database}.events
                    WHERE (type IN ('track', 'page', 'screen') AND timestamp >= toDateTime(1696204800) AND timestamp < toDateTime(1701388800))
                      AND device_type != 'bot'
                  ) AS e
                  ANY LEFT JOIN (
                    SELECT cityHash64(id) AS identity_key,
                      cityHash64(person) AS linked_person,
                      person AS linked_id
                    FROM (
                      SELECT id,
                        if(t2 != '', t2, t1) AS person
                      FROM (
                        SELECT id,
                          target AS t1
                        FROM (
                          SELECT id,
                            argMinMerge(target) AS target
                          FROM {database}.identity_links
                          GROUP BY id
                        )
                      ) AS a
                      ANY LEFT JOIN (
                        SELECT id AS t1,
                          target AS t2
                        FROM (
                          SELECT id,
                            argMinMerge(target) AS target
                          FROM {database}.identity_links
                          GROUP BY id
                        )
                      ) AS b USING t1
                    )
                  ) AS p USING identity_key
                )
                GROUP BY person
              )
            )
          )
        )
      )
    )
  )
)
GROUP BY model,
  segment,
  s,
  m,
  c;
