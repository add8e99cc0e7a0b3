'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { KeyboardEvent, MouseEvent, WheelEvent } from 'react';
import { WEB, dicomJson, text } from '../../lib/dicomweb';
import { usePredictions } from '../../lib/usePredictions';
import { ErrorAlert } from '../common/ErrorAlert';
import { Loading } from '../common/Loading';
import { FrameCanvas } from './FrameCanvas';
import { FramePredictions } from './FramePredictions';
import { InstanceHeader } from './InstanceHeader';
import { MaskControls } from './MaskControls';
import type { MaskModel } from './MaskControls';

/** Window presets (centre, width) in Hounsfield units; "file" uses the object's own. */
const PRESETS = [
  { name: 'From file', window: null },
  { name: 'Soft tissue', window: [40, 400] },
  { name: 'Lung', window: [-600, 1500] },
  { name: 'Bone', window: [300, 1500] },
  { name: 'Brain', window: [40, 80] },
] as const;

interface Frame {
  series: string;
  sop: string;
  frame: number;
  instanceNumber: string;
}

/** Frames fetched ahead of the one shown, each way. */
const AHEAD = 3;

function renderedUrl(study: string, f: Frame, query: string): string {
  return `${WEB}/studies/${study}/series/${f.series}/instances/${f.sop}/frames/${f.frame}/rendered${query}`;
}

/**
 * A study's series as thumbnails and one large frame: wheel or arrow keys
 * step through instances and frames, presets or a drag set the window.
 * `shared`: the viewer sees only studies shared with them (collaborators),
 * so a study with no series is "not found or not shared with you".
 */
export function StudyViewer({
  study,
  shared = false,
}: {
  study: string;
  shared?: boolean;
}) {
  const series = useQuery({
    queryKey: ['dicomweb', 'series', study],
    queryFn: () => dicomJson(`studies/${study}/series`),
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const current =
    chosen ?? (series.data ? text(series.data[0] ?? {}, '0020000E') : null);
  const frames = useQuery({
    queryKey: ['dicomweb', 'frames', study, current],
    enabled: current !== null && current !== '',
    queryFn: async (): Promise<Frame[]> => {
      const list = await dicomJson(
        `studies/${study}/series/${current}/instances?includefield=00280008`,
      );
      return list
        .map((ds) => ({
          sop: text(ds, '00080018'),
          n: Number(text(ds, '00200013') || 0),
          count: Math.max(1, Number(text(ds, '00280008') || 1)),
        }))
        .sort((a, b) => a.n - b.n || a.sop.localeCompare(b.sop))
        .flatMap((i) =>
          Array.from({ length: i.count }, (_, f) => ({
            series: current!,
            sop: i.sop,
            frame: f + 1,
            instanceNumber: String(i.n),
          })),
        );
    },
  });
  const [index, setIndex] = useState(0);
  const [windowing, setWindowing] = useState<readonly [number, number] | null>(
    null,
  );
  const [zoom, setZoom] = useState(1);
  const drag = useRef<{ x: number; y: number; c: number; w: number } | null>(
    null,
  );
  useEffect(() => setIndex(0), [current]);
  const predictions = usePredictions(current ?? '');
  const [maskShown, setMaskShown] = useState(true);
  const [maskOpacity, setMaskOpacity] = useState(0.5);
  const [maskModel, setMaskModel] = useState('');
  const list = useMemo(() => frames.data ?? [], [frames.data]);
  const at = list[Math.min(index, Math.max(0, list.length - 1))];
  // Segmentation models with a mask over the frame on screen: its own
  // (a frame's, SEG or .npy) or a stacking model's one mask for the series.
  const maskModels = useMemo((): MaskModel[] => {
    const out = new Map<string, MaskModel>();
    for (const p of predictions.data ?? []) {
      const series = p.sopInstanceUID === null;
      const own = p.sopInstanceUID === at?.sop && p.frameIndex === at.frame - 1;
      if (p.maskKey && at && (series || own))
        out.set(p.modelSha256, {
          sha256: p.modelSha256,
          name: `${p.modelName} ${p.modelVersion}`,
          series,
        });
    }
    return [...out.values()];
  }, [predictions.data, at]);
  const query = windowing
    ? `?window=${windowing[0]},${windowing[1]},linear`
    : '';
  const ahead = useMemo(() => {
    const out: string[] = [];
    for (let d = 1; d <= AHEAD; d++)
      for (const f of [list[index + d], list[index - d]])
        if (f) out.push(renderedUrl(study, f, query));
    return out;
  }, [list, index, study, query]);

  if (series.isPending) return <Loading what="the study" />;
  if (series.isError)
    return <ErrorAlert what="Could not load the study" error={series.error} />;
  // The API answers a study outside the caller's releases exactly as one
  // that is not in the lake: no series. So does this page.
  if (series.data.length === 0)
    return (
      <p role="alert" className="error" data-testid="study-not-found">
        {shared
          ? 'Study not found: it is not in the lake, or not shared with you. Check the link, or ask the person who shared it.'
          : 'Study not found: no study with this UID is in the lake. Check the link.'}
      </p>
    );
  const step = (by: number) =>
    setIndex((i) => Math.max(0, Math.min(list.length - 1, i + by)));
  const src = at ? renderedUrl(study, at, query) : undefined;
  const shownModel =
    maskModels.find((m) => m.sha256 === maskModel) ?? maskModels[0];
  const mask =
    at && shownModel && maskShown
      ? `${WEB}/studies/${study}/series/${at.series}/instances/${at.sop}/frames/${at.frame}/mask?model=${shownModel.sha256}`
      : null;
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') step(-1);
    else return;
    e.preventDefault();
  };
  const onWheel = (e: WheelEvent) => step(e.deltaY > 0 ? 1 : -1);
  const onDown = (e: MouseEvent) => {
    const [c, w] = windowing ?? [40, 400];
    drag.current = { x: e.clientX, y: e.clientY, c, w };
  };
  const onMove = (e: MouseEvent) => {
    const d = drag.current;
    if (!d) return;
    // Right widens the window, down raises its centre.
    setWindowing([
      Math.round(d.c + (e.clientY - d.y) * 2),
      Math.max(1, Math.round(d.w + (e.clientX - d.x) * 4)),
    ]);
  };
  return (
    <div className="viewer">
      <nav aria-label="Series">
        {series.data.map((s) => {
          const uid = text(s, '0020000E');
          return (
            <button
              key={uid}
              type="button"
              aria-pressed={uid === current}
              onClick={() => setChosen(uid)}
            >
              <img
                src={`${WEB}/studies/${study}/series/${uid}/thumbnail?viewport=128,128`}
                alt=""
                width={64}
                height={64}
                loading="lazy"
                style={{
                  objectFit: 'contain',
                  background: '#000',
                  display: 'block',
                }}
              />
              {text(s, '00080060')} {text(s, '0008103E') || 'series'} (
              {text(s, '00201209')})
            </button>
          );
        })}
      </nav>
      <p role="group" aria-label="Window presets">
        {PRESETS.map((p) => (
          <button
            key={p.name}
            type="button"
            aria-pressed={
              p.window === null
                ? windowing === null
                : windowing?.[0] === p.window[0] && windowing[1] === p.window[1]
            }
            onClick={() => setWindowing(p.window)}
          >
            {p.name}
          </button>
        ))}{' '}
        <label>
          Zoom{' '}
          <select
            value={zoom}
            onChange={(e) => setZoom(Number(e.target.value))}
          >
            {[1, 1.5, 2, 3, 4].map((z) => (
              <option key={z} value={z}>
                {z}×
              </option>
            ))}
          </select>
        </label>{' '}
        <output aria-label="Window">
          {windowing
            ? `C ${windowing[0]} / W ${windowing[1]}`
            : 'window from the file'}
        </output>
      </p>
      <MaskControls
        models={maskModels}
        model={shownModel?.sha256 ?? ''}
        onModel={setMaskModel}
        shown={maskShown}
        onShown={setMaskShown}
        opacity={maskOpacity}
        onOpacity={setMaskOpacity}
      />
      {frames.isError ? (
        <ErrorAlert what="Could not list the frames" error={frames.error} />
      ) : at && src ? (
        <figure
          style={{ maxWidth: '100%', maxHeight: '70vh', overflow: 'auto' }}
          aria-label="Frame (scroll to pan when zoomed)"
        >
          <FrameCanvas
            src={src}
            mask={mask}
            opacity={maskOpacity}
            ahead={ahead}
            width={512 * zoom}
            label={`Instance ${at.instanceNumber}, frame ${at.frame}`}
            onKeyDown={onKey}
            onWheel={onWheel}
            onMouseDown={onDown}
            onMouseMove={onMove}
            onMouseUp={() => (drag.current = null)}
            onMouseLeave={() => (drag.current = null)}
          />
          <figcaption data-testid="frame-position">
            {index + 1} / {list.length} (instance {at.instanceNumber}, frame{' '}
            {at.frame})
          </figcaption>
        </figure>
      ) : frames.isSuccess ? (
        <p role="status" className="muted">
          This series has no frames to show.
        </p>
      ) : (
        <Loading what="frames" />
      )}
      {at ? <FramePredictions series={at.series} sop={at.sop} /> : null}
      {at ? (
        <InstanceHeader study={study} series={at.series} sop={at.sop} />
      ) : null}
    </div>
  );
}
