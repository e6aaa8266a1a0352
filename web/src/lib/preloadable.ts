// Components loaded on demand that render at once when their module is already here.
//
// `React.lazy` suspends on its first render even when its module has arrived, and React then
// holds the content back until 300 ms after the Suspense fallback appeared (its reveal
// throttle): a section's editor, whose chunk loads while the document syncs, waited about
// 300 ms more for nothing. `current()` gives the loaded component itself when it can, the
// lazy one (for a Suspense boundary) otherwise.
import { lazy, useRef, type ComponentType } from "react"

export interface Preloadable<P> {
  /** Starts loading the module (once). */
  preload(): Promise<ComponentType<P>>
  /** The component: the loaded one if the module is here, else a lazy one. */
  current(): ComponentType<P>
}

export function preloadable<P>(load: () => Promise<ComponentType<P>>): Preloadable<P> {
  let loaded: ComponentType<P> | undefined
  let pending: Promise<ComponentType<P>> | undefined
  const preload = () =>
    (pending ??= load().then((component) => {
      loaded = component
      return component
    }))
  const Lazy = lazy(() => preload().then((component) => ({ default: component })))
  return { preload, current: () => loaded ?? (Lazy as unknown as ComponentType<P>) }
}

/** The component to render from `from`, chosen once for this place in the tree (switching
 * from the lazy to the loaded one later would remount it, and lose its state). */
export function useChosen<P>(from: Preloadable<P>): ComponentType<P> {
  const chosen = useRef<ComponentType<P> | null>(null)
  chosen.current ??= from.current()
  return chosen.current
}
