import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * Crashes the JVM for real: writes to address 0 through {@code sun.misc.Unsafe}. HotSpot takes
 * the SIGSEGV, writes its fatal-error log ({@code hs_err_pid<pid>.log}, or
 * {@code -XX:ErrorFile}) and aborts. Reflection keeps javac quiet about the internal API.
 */
public class Crash {
    public static void main(String[] args) throws Exception {
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field field = unsafeClass.getDeclaredField("theUnsafe");
        field.setAccessible(true);
        Object unsafe = field.get(null);
        Method putAddress = unsafeClass.getMethod("putAddress", long.class, long.class);
        putAddress.invoke(unsafe, 0L, 0L);
        System.out.println("still alive: the write to address 0 did not crash the JVM");
    }
}
